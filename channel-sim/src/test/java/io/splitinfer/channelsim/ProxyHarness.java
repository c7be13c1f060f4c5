package io.splitinfer.channelsim;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.proto.v1.ChannelControlGrpc;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** A fake edge, channel-sim in front of it and a UE-side channel, all on loopback. */
final class ProxyHarness implements AutoCloseable {
  final FakeEdge edge;
  final ChannelSimServer sim;
  final ManagedChannel ue;
  final ManagedChannel direct;

  final MeterRegistry registry;

  ProxyHarness(ChannelParams params) throws Exception {
    this(params, 64 << 20, new FakeEdge().start(), ChannelSimServer.Security.LEGACY);
  }

  /** channel-sim with this message bound and security in front of {@code edge}. */
  ProxyHarness(
      ChannelParams params, int maxMessageBytes, FakeEdge edge, ChannelSimServer.Security sec)
      throws Exception {
    this.edge = edge;
    registry = new SimpleMeterRegistry();
    sim =
        new ChannelSimServer(
                new ChannelSimServer.Config(
                    "127.0.0.1",
                    0,
                    "localhost:" + edge.port(),
                    params,
                    null,
                    0,
                    maxMessageBytes,
                    sec),
                registry)
            .start();
    ue = sec.server().isPlaintext() ? channel(sim.port()) : null;
    direct = sec.server().isPlaintext() ? channel(edge.port()) : null;
  }

  double rejected(String reason) {
    var c = registry.find("channelsim_rejected").tag("reason", reason).counter();
    return c == null ? 0 : c.count();
  }

  static ManagedChannel channel(int port) {
    return NettyChannelBuilder.forAddress("127.0.0.1", port)
        .usePlaintext()
        .maxInboundMessageSize(64 << 20)
        .build();
  }

  ChannelControlGrpc.ChannelControlBlockingStub control() {
    return ChannelControlGrpc.newBlockingStub(ue);
  }

  /** A bidi Session call at the byte level that records what comes back. */
  static final class Session {
    final ClientCall<byte[], byte[]> call;
    final BlockingQueue<byte[]> replies = new ArrayBlockingQueue<>(100_000);
    final List<Long> replyNanos = new CopyOnWriteArrayList<>();
    final CountDownLatch closed = new CountDownLatch(1);
    final CountDownLatch ready = new CountDownLatch(1);
    volatile Status status;

    Session(ManagedChannel ch) {
      call = ch.newCall(FakeEdge.SESSION, CallOptions.DEFAULT);
      call.start(
          new ClientCall.Listener<>() {
            @Override
            public void onMessage(byte[] m) {
              replyNanos.add(System.nanoTime());
              replies.add(m);
              call.request(1);
            }

            @Override
            public void onClose(Status s, Metadata t) {
              status = s;
              closed.countDown();
            }

            @Override
            public void onReady() {
              ready.countDown();
            }
          },
          new Metadata());
      call.request(1);
    }

    byte[] next() throws InterruptedException {
      byte[] b = replies.poll(10, TimeUnit.SECONDS);
      if (b == null) {
        throw new AssertionError("no reply within 10 s");
      }
      return b;
    }

    /** Waits for the server to end the call (without half-closing). */
    Status awaitClose() throws InterruptedException {
      if (!closed.await(10, TimeUnit.SECONDS)) {
        throw new AssertionError("not closed");
      }
      return status;
    }

    Status finish() throws InterruptedException {
      call.halfClose();
      if (!closed.await(10, TimeUnit.SECONDS)) {
        throw new AssertionError("not closed");
      }
      return status;
    }
  }

  @Override
  public void close() throws Exception {
    if (ue != null) {
      ue.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      direct.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    sim.close();
    edge.close();
  }
}
