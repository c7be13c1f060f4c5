package io.splitinfer.channelsim;

import io.grpc.ChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.ServerCredentials;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.micrometer.core.instrument.MeterRegistry;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.core.channel.Scenario;
import io.splitinfer.core.cli.HostPort;
import io.splitinfer.core.security.AuthInterceptor;
import io.splitinfer.core.security.Authz;
import io.splitinfer.core.security.TlsCredentials;
import io.splitinfer.core.security.TlsOptions;
import io.splitinfer.core.security.TokenTable;
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
  /** Largest message either way by default: one 512-token fp32 chunk at hidden size 8192. */
  public static final int DEFAULT_MAX_MESSAGE_BYTES = 16 << 20;

  /**
   * Configuration.
   *
   * @param maxMessageBytes largest gRPC message accepted either way; a larger one is refused with
   *     RESOURCE_EXHAUSTED from its length prefix, before it is buffered
   * @param security TLS of the listening side and of the edge link, and authentication
   */
  public record Config(
      String listenHost,
      int listenPort,
      String edgeTarget,
      ChannelParams params,
      Scenario scenario,
      long scenarioSeed,
      int maxMessageBytes,
      Security security) {
    public Config {
      if (maxMessageBytes < 1024) {
        throw new IllegalArgumentException(
            "maxMessageBytes must be >= 1024, got " + maxMessageBytes);
      }
      security = security == null ? Security.LEGACY : security;
    }

    /** Without TLS or authentication (the transitional default). */
    public Config(
        String listenHost,
        int listenPort,
        String edgeTarget,
        ChannelParams params,
        Scenario scenario,
        long scenarioSeed,
        int maxMessageBytes) {
      this(
          listenHost,
          listenPort,
          edgeTarget,
          params,
          scenario,
          scenarioSeed,
          maxMessageBytes,
          Security.LEGACY);
    }
  }

  /**
   * Link security of channel-sim.
   *
   * @param server TLS of the port UEs and operators connect to
   * @param edge TLS of the link to the edge (channel-sim's certificate is its client identity)
   * @param tokens bearer tokens accepted from callers
   * @param authenticate whether the control API demands an identity (an operator to change the
   *     channel, any role to read it); with false every caller may do everything
   */
  public record Security(
      TlsOptions server, TlsOptions edge, TokenTable tokens, boolean authenticate) {
    /** Plaintext on any host, nobody authenticated: the behaviour before TLS. */
    public static final Security LEGACY =
        new Security(
            TlsOptions.legacyPlaintext(), TlsOptions.legacyPlaintext(), TokenTable.EMPTY, false);

    public Security {
      tokens = tokens == null ? TokenTable.EMPTY : tokens;
    }
  }

  private final Config config;
  private final MeterRegistry registry;
  private ChannelSimulator sim;
  private ScheduledExecutorService timer;
  private ManagedChannel edge;
  private Server server;
  private HealthStatusManager health;
  private ProxyRegistry proxy;
  private int healthPortNumber = -1;
  private io.splitinfer.core.health.HealthPort healthPort;

  public ChannelSimServer(Config config, MeterRegistry registry) {
    this.config = config;
    this.registry = registry;
  }

  /**
   * Also serves gRPC health, and nothing else, in plaintext on {@code port} of the listen host
   * (core {@code HealthPort}: Kubernetes' gRPC probes speak no TLS); -1 = not. Before {@link
   * #start}.
   */
  public ChannelSimServer healthPort(int port) {
    this.healthPortNumber = port;
    return this;
  }

  /** The plaintext health port's bound port, -1 when there is none. */
  public int healthPortNumber() {
    return healthPort == null ? -1 : healthPort.port();
  }

  public ChannelSimServer start() throws IOException {
    ChannelLimits.check(config.params());
    Security sec = config.security();
    ServerCredentials serverCreds = TlsCredentials.server(sec.server(), config.listenHost());
    ChannelCredentials edgeCreds =
        TlsCredentials.client(
            sec.edge(), HostPort.parse(config.edgeTarget(), "--edge").host(), null);
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
        NettyChannelBuilder.forTarget(config.edgeTarget(), edgeCreds)
            .maxInboundMessageSize(transportLimit())
            .build();
    proxy = new ProxyRegistry(edge, sim, timer, config.maxMessageBytes());
    health = new HealthStatusManager();
    server =
        NettyServerBuilder.forAddress(
                new InetSocketAddress(config.listenHost(), config.listenPort()), serverCreds)
            .maxInboundMessageSize(transportLimit())
            .intercept(new AuthInterceptor(sec.tokens(), registry))
            .addService(
                new ChannelControlService(sim, timer, new Authz(sec.authenticate(), registry)))
            .addService(health.getHealthService())
            .fallbackHandlerRegistry(proxy)
            .build()
            .start();
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus(ChannelControlGrpc.SERVICE_NAME, ServingStatus.SERVING);
    if (healthPortNumber >= 0) {
      healthPort =
          new io.splitinfer.core.health.HealthPort(
                  health.getHealthService(),
                  new InetSocketAddress(config.listenHost(), healthPortNumber))
              .start();
    }
    return this;
  }

  /**
   * The transport's bound: twice the message bound, like the edge's. Messages over it are refused
   * from their length prefix, before they are buffered; those between the two reach the proxy,
   * which ends the call with RESOURCE_EXHAUSTED and a description (the transport alone would answer
   * a bidi stream's later messages with a bare CANCELLED, grpc-java issue 11245).
   */
  private int transportLimit() {
    return (int) Math.min(Integer.MAX_VALUE, 2L * config.maxMessageBytes());
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
    if (healthPort != null) {
      healthPort.close();
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
