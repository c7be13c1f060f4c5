package io.splitinfer.channelsim;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.micrometer.core.instrument.MeterRegistry;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.core.channel.Scenario;
import io.splitinfer.proto.v1.ChannelControlGrpc;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The channel-sim process minus its CLI: a gRPC server that serves ChannelControl and health
 * locally and forwards everything else to the edge through the simulated channel.
 */
public final class ChannelSimServer implements AutoCloseable {
  /** Configuration. */
  public record Config(
      String listenHost,
      int listenPort,
      String edgeTarget,
      ChannelParams params,
      Scenario scenario,
      long scenarioSeed,
      int maxMessageBytes) {}

  private final Config config;
  private final MeterRegistry registry;
  private ChannelSimulator sim;
  private ScheduledExecutorService timer;
  private ManagedChannel edge;
  private Server server;
  private HealthStatusManager health;
  private ProxyRegistry proxy;

  public ChannelSimServer(Config config, MeterRegistry registry) {
    this.config = config;
    this.registry = registry;
  }

  public ChannelSimServer start() throws IOException {
    sim = new ChannelSimulator(config.params(), registry);
    if (config.scenario() != null) {
      sim.loadScenario(config.scenario(), config.scenarioSeed());
    }
    timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "channel-sim-link");
              t.setDaemon(true);
              return t;
            });
    edge =
        NettyChannelBuilder.forTarget(config.edgeTarget())
            .usePlaintext()
            .maxInboundMessageSize(config.maxMessageBytes())
            .build();
    proxy = new ProxyRegistry(edge, sim, timer);
    health = new HealthStatusManager();
    server =
        NettyServerBuilder.forAddress(
                new InetSocketAddress(config.listenHost(), config.listenPort()))
            .maxInboundMessageSize(config.maxMessageBytes())
            .addService(new ChannelControlService(sim, timer))
            .addService(health.getHealthService())
            .fallbackHandlerRegistry(proxy)
            .build()
            .start();
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus(ChannelControlGrpc.SERVICE_NAME, ServingStatus.SERVING);
    return this;
  }

  public int port() {
    return server.getPort();
  }

  public ChannelSimulator simulator() {
    return sim;
  }

  ProxyRegistry proxy() {
    return proxy;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /** Drops every connection at once, as a crashed process would (tests of the UE's failover). */
  public void kill() throws InterruptedException {
    if (server != null) {
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
    close();
  }

  @Override
  public void close() throws InterruptedException {
    if (health != null) {
      health.enterTerminalState();
    }
    if (server != null) {
      server.shutdown();
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow();
      }
    }
    if (edge != null) {
      edge.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (timer != null) {
      timer.shutdownNow();
    }
  }
}
