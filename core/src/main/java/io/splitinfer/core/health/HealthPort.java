package io.splitinfer.core.health;

import io.grpc.BindableService;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * A plaintext gRPC port that serves nothing but {@code grpc.health.v1.Health}, from the same health
 * service (grpc-services' {@code HealthStatusManager}) as the service's own TLS port, so it reports
 * exactly what that port reports. It exists for Kubernetes' gRPC probes: the kubelet speaks no TLS,
 * and every service port runs (mutual) TLS. It answers only serving status (the service names and
 * SERVING / NOT_SERVING), so it is opened only when asked ({@code --health-port}, off by default).
 * Construction does no I/O; {@link #start} binds.
 */
public final class HealthPort implements AutoCloseable {
  private final BindableService health;
  private final InetSocketAddress address;
  private Server server;

  public HealthPort(BindableService health, InetSocketAddress address) {
    this.health = health;
    this.address = address;
  }

  /** Binds and serves; returns this. */
  public HealthPort start() throws IOException {
    server =
        NettyServerBuilder.forAddress(address, InsecureServerCredentials.create())
            .addService(health)
            .build()
            .start();
    return this;
  }

  /** The bound port (after {@link #start}). */
  public int port() {
    return server.getPort();
  }

  @Override
  public void close() {
    if (server == null) {
      return;
    }
    server.shutdownNow();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
