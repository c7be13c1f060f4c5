package io.splitinfer.e2e;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.controller.service.ControllerServer;
import io.splitinfer.controller.service.Hysteresis;
import io.splitinfer.controller.service.Policies;
import io.splitinfer.controller.service.PolicyFactory;
import io.splitinfer.controller.service.SplitControllerService;
import io.splitinfer.edge.ControllerLink;
import io.splitinfer.edge.EdgeConfig;
import io.splitinfer.edge.EdgeLoadMeter;
import io.splitinfer.edge.EdgeMetrics;
import io.splitinfer.edge.EdgeModel;
import io.splitinfer.edge.EdgeServer;
import io.splitinfer.edge.SplitInferenceService;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A controller and a pool of edges on loopback TCP in this JVM, each edge a real {@link EdgeServer}
 * that joins the pool through its {@link ControllerLink} (registration with capacity, load reports
 * every 100 ms), all on one engine.
 */
final class PoolRig implements AutoCloseable {
  static final String MODEL_ID = "tiny-random";
  static final String SHA = "0123456789abcdef";

  final SimpleMeterRegistry controllerMetrics = new SimpleMeterRegistry();
  final ControllerServer controller;
  final ManagedChannel controllerChannel;
  final List<Edge> edges = new ArrayList<>();
  private final InferenceEngine engine;

  /** One edge: server, its link to the controller and its metrics. */
  static final class Edge {
    final String id;
    final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    final EdgeServer server;
    final EdgeLoadMeter meter;
    final ControllerLink link;
    final ManagedChannel toController;

    Edge(String id, InferenceEngine engine, EdgeConfig config, int controllerPort)
        throws Exception {
      this.id = id;
      EdgeMetrics metrics = new EdgeMetrics(registry);
      SplitInferenceService service =
          new SplitInferenceService(
              new EdgeModel(MODEL_ID, SHA, engine, t -> "<" + t + ">"), config, metrics);
      server = new EdgeServer(service, metrics).start(new InetSocketAddress("127.0.0.1", 0));
      meter = new EdgeLoadMeter(service, config, Duration.ofMillis(20)).start();
      toController =
          NettyChannelBuilder.forAddress("127.0.0.1", controllerPort).usePlaintext().build();
      link =
          new ControllerLink(toController)
              .pool(new ControllerLink.Pool(meter.capacity(), meter::load, Duration.ofMillis(100)))
              .start(id, address(), service.modelInfo(), "127.0.0.1:" + controllerPort);
    }

    String address() {
      return "127.0.0.1:" + server.port();
    }

    double sessionsOpened() {
      return registry.get("edge_sessions_opened").counter().count();
    }

    /** As a SIGKILL would: every connection, to UEs and to the controller, drops at once. */
    void kill() throws InterruptedException {
      server.kill();
      link.close();
      toController.shutdownNow();
      meter.close();
    }
  }

  PoolRig(InferenceEngine engine, int edgeCount, EdgeConfig config) throws Exception {
    this.engine = engine;
    SplitControllerService service =
        new SplitControllerService(
            Policies.fixed(-1),
            new PolicyFactory("", "", -1, 1),
            Hysteresis.none(),
            -1,
            Clock.systemUTC(),
            controllerMetrics);
    service.pool().ttl(Duration.ofSeconds(2));
    controller =
        new ControllerServer(
                service,
                NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)),
                Duration.ofMillis(200),
                null)
            .start();
    controllerChannel =
        NettyChannelBuilder.forAddress("127.0.0.1", controller.port()).usePlaintext().build();
    for (int i = 1; i <= edgeCount; i++) {
      addEdge("edge-" + i, config);
    }
    await(() -> pool().size() == edgeCount, "every edge joined the pool");
  }

  Edge addEdge(String id, EdgeConfig config) throws Exception {
    Edge e = new Edge(id, engine, config, controller.port());
    edges.add(e);
    return e;
  }

  io.splitinfer.controller.pool.EdgePool pool() {
    return controller.service().pool();
  }

  SplitControllerGrpc.SplitControllerBlockingStub stub() {
    return SplitControllerGrpc.newBlockingStub(controllerChannel)
        .withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  Edge edge(String id) {
    return edges.stream().filter(e -> e.id.equals(id)).findFirst().orElseThrow();
  }

  double counter(String name, String tag, String value) {
    var c = controllerMetrics.find(name).tag(tag, value).counter();
    return c == null ? 0 : c.count();
  }

  static void await(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting until " + what);
      }
      Thread.sleep(20);
    }
  }

  @Override
  public void close() throws Exception {
    for (Edge e : edges) {
      e.link.close();
      e.toController.shutdownNow();
      e.meter.close();
      e.server.stop();
    }
    controllerChannel.shutdownNow();
    controller.close();
  }
}
