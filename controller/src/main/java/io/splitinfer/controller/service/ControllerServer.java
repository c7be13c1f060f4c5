package io.splitinfer.controller.service;

import io.grpc.ChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.protobuf.services.HealthStatusManager;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Lifecycle of the controller process' gRPC side: the {@link SplitControllerService}, gRPC health
 * (SERVING once started, NOT_SERVING on close), the decision cadence, and the optional channel-sim
 * watch. Construction does no I/O; {@link #start} binds.
 */
public final class ControllerServer implements AutoCloseable {
  private final SplitControllerService service;
  private final ServerBuilder<?> builder;
  private final Duration cadence;
  private final String channelSim;
  private final ChannelCredentials channelSimCredentials;
  private final HealthStatusManager health = new HealthStatusManager();
  private ScheduledExecutorService scheduler;
  private ChannelSimWatcher watcher;
  private Server server;
  private java.net.InetSocketAddress healthAddress;
  private io.splitinfer.core.health.HealthPort healthPort;

  /**
   * @param builder a server builder bound to the port (or in-process name)
   * @param cadence how often every UE is re-evaluated (zero: only on channel change)
   * @param channelSim channel-sim HOST:PORT to watch, or null/blank
   */
  public ControllerServer(
      SplitControllerService service,
      ServerBuilder<?> builder,
      Duration cadence,
      String channelSim) {
    this(service, builder, cadence, channelSim, InsecureChannelCredentials.create());
  }

  /**
   * @param builder a server builder bound to the port with its credentials and interceptors
   * @param channelSimCredentials credentials of the watch link to channel-sim
   */
  public ControllerServer(
      SplitControllerService service,
      ServerBuilder<?> builder,
      Duration cadence,
      String channelSim,
      ChannelCredentials channelSimCredentials) {
    this.service = service;
    this.builder = builder;
    this.cadence = cadence;
    this.channelSim = channelSim;
    this.channelSimCredentials = channelSimCredentials;
  }

  /**
   * Also serves gRPC health, and nothing else, in plaintext on {@code address} (core {@code
   * HealthPort}: Kubernetes' gRPC probes speak no TLS); null = not. Call before {@link #start}.
   */
  public ControllerServer healthPort(java.net.InetSocketAddress address) {
    this.healthAddress = address;
    return this;
  }

  /** The plaintext health port's bound port, -1 when there is none. */
  public int healthPortNumber() {
    return healthPort == null ? -1 : healthPort.port();
  }

  public ControllerServer start() throws IOException {
    server = builder.addService(service).addService(health.getHealthService()).build().start();
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus(SplitControllerGrpc.SERVICE_NAME, ServingStatus.SERVING);
    if (healthAddress != null) {
      healthPort =
          new io.splitinfer.core.health.HealthPort(health.getHealthService(), healthAddress)
              .start();
    }
    scheduler =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "controller-decisions");
              t.setDaemon(true);
              return t;
            });
    if (!cadence.isZero()) {
      scheduler.scheduleAtFixedRate(
          service::decisionTick, cadence.toMillis(), cadence.toMillis(), TimeUnit.MILLISECONDS);
    }
    if (channelSim != null && !channelSim.isBlank()) {
      watcher = new ChannelSimWatcher(channelSim, channelSimCredentials, service, scheduler);
      watcher.start();
    }
    return this;
  }

  public int port() {
    return server.getPort();
  }

  public SplitControllerService service() {
    return service;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  @Override
  public void close() {
    health.enterTerminalState();
    if (healthPort != null) {
      healthPort.close();
    }
    if (watcher != null) {
      watcher.close();
    }
    if (scheduler != null) {
      scheduler.shutdownNow();
    }
    if (server != null) {
      service.completeWatchers();
      server.shutdown();
      try {
        if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
          server.shutdownNow();
        }
      } catch (InterruptedException e) {
        server.shutdownNow();
        Thread.currentThread().interrupt();
      }
    }
  }
}
