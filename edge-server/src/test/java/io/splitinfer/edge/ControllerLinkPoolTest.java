package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.splitinfer.proto.v1.EdgeCapacity;
import io.splitinfer.proto.v1.EdgeLoad;
import io.splitinfer.proto.v1.EdgeLoadAck;
import io.splitinfer.proto.v1.EdgeRegistration;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.Registered;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.WatchSplitRequest;
import java.time.Duration;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The edge's side of the pool: it registers with its capacity, streams load reports with its edge
 * id, re-registers and reopens the stream once when the controller ends it, and keeps a single
 * registration (no retry loop) against a controller that predates the pool (UNIMPLEMENTED).
 */
class ControllerLinkPoolTest {
  static final EdgeCapacity CAP =
      EdgeCapacity.newBuilder()
          .setMaxSessions(4)
          .setKvBudgetBytes(1 << 20)
          .setMinSplit(0)
          .setMaxSplit(2)
          .build();

  /** A controller: registrations, watches that stay open, heartbeats (or none). */
  static final class FakeController extends SplitControllerGrpc.SplitControllerImplBase {
    final LinkedBlockingQueue<EdgeRegistration> registrations = new LinkedBlockingQueue<>();
    final LinkedBlockingQueue<EdgeLoad> loads = new LinkedBlockingQueue<>();
    final AtomicInteger streams = new AtomicInteger();
    final boolean pool;
    volatile StreamObserver<EdgeLoadAck> lastStream;

    FakeController(boolean pool) {
      this.pool = pool;
    }

    @Override
    public void registerEdge(EdgeRegistration req, StreamObserver<Registered> out) {
      registrations.add(req);
      out.onNext(Registered.newBuilder().setId(req.getEdgeId()).build());
      out.onCompleted();
    }

    @Override
    public void watchSplit(WatchSplitRequest req, StreamObserver<SplitDecision> out) {}

    @Override
    public StreamObserver<EdgeLoad> edgeHeartbeat(StreamObserver<EdgeLoadAck> out) {
      if (!pool) {
        return super.edgeHeartbeat(out);
      }
      streams.incrementAndGet();
      lastStream = out;
      return new StreamObserver<>() {
        @Override
        public void onNext(EdgeLoad v) {
          loads.add(v);
        }

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
    }
  }

  static ControllerLink link(ManagedChannel ch) {
    return new ControllerLink(ch)
        .pool(
            new ControllerLink.Pool(
                CAP,
                () -> EdgeLoad.newBuilder().setActiveSessions(1).setKvBytes(100).build(),
                Duration.ofMillis(20)));
  }

  static final ModelInfo MODEL =
      ModelInfo.newBuilder().setModelId("m").setNumLayers(2).setMaxSplit(2).build();

  @Test
  void registersItsCapacityStreamsLoadAndRejoinsWhenTheStreamEnds() throws Exception {
    FakeController fake = new FakeController(true);
    String name = "pool-link-" + System.nanoTime();
    Server server = InProcessServerBuilder.forName(name).addService(fake).build().start();
    ManagedChannel ch = InProcessChannelBuilder.forName(name).build();
    try (ControllerLink link = link(ch).start("edge-7", "10.0.0.7:50051", MODEL, name)) {
      EdgeRegistration r = fake.registrations.poll(5, TimeUnit.SECONDS);
      assertEquals(CAP, r.getCapacity());
      assertEquals("10.0.0.7:50051", r.getAdvertisedAddress());
      for (int i = 0; i < 3; i++) {
        EdgeLoad l = fake.loads.poll(5, TimeUnit.SECONDS);
        assertEquals("edge-7", l.getEdgeId());
        assertEquals(1, l.getActiveSessions());
      }
      fake.lastStream.onError(io.grpc.Status.NOT_FOUND.asRuntimeException()); // e.g. a restart
      assertTrue(fake.registrations.poll(5, TimeUnit.SECONDS) != null, "registers again");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      while (fake.streams.get() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertEquals(2, fake.streams.get(), "and reopens its heartbeat");
      Thread.sleep(300);
      assertEquals(2, fake.streams.get(), "once");
    } finally {
      ch.shutdownNow();
      server.shutdownNow();
    }
  }

  @Test
  void aControllerWithoutThePoolLeavesTheEdgeRegisteredOnce() throws Exception {
    FakeController fake = new FakeController(false);
    String name = "pool-link-old-" + System.nanoTime();
    Server server = InProcessServerBuilder.forName(name).addService(fake).build().start();
    ManagedChannel ch = InProcessChannelBuilder.forName(name).build();
    try (ControllerLink link = link(ch).start("edge-7", "10.0.0.7:50051", MODEL, name)) {
      assertTrue(fake.registrations.poll(5, TimeUnit.SECONDS) != null);
      Thread.sleep(600);
      assertEquals(1, link.registrations(), "UNIMPLEMENTED heartbeat is not a lost controller");
    } finally {
      ch.shutdownNow();
      server.shutdownNow();
    }
  }
}
