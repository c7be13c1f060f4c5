package io.splitinfer.edge;

import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.grpc.ServerStreamTracer;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.services.HealthStatusManager;
import io.grpc.protobuf.services.ProtoReflectionServiceV1;
import io.splitinfer.core.health.HealthPort;
import io.splitinfer.proto.v1.SplitInferenceGrpc;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * Lifecycle of an edge server: a gRPC server (Netty on a TCP address, port 0 = any free port, or
 * in-process by name) around one {@link SplitInferenceService}, with gRPC health and a stream
 * tracer that counts transport-level refusals (oversized or unparseable messages) by reason.
 */
public final class EdgeServer implements AutoCloseable {
  private final SplitInferenceService service;
  private final EdgeMetrics metrics;
  private final int maxInboundBytes;
  private final HealthStatusManager health = new HealthStatusManager();
  private Server server;
  private boolean inlineCalls;
  private ServerCredentials credentials;
  private ServerInterceptor auth;
  private InetSocketAddress healthAddress;
  private HealthPort healthPort;

  public EdgeServer(SplitInferenceService service, EdgeMetrics metrics) {
    this.service = service;
    this.metrics = metrics;
    // The session refuses messages over service.maxMessageBytes() with RESOURCE_EXHAUSTED and a
    // clear description; the transport limit (twice that) is the hard stop gRPC enforces itself
    // (it resets the stream, which the client sees as CANCELLED).
    this.maxInboundBytes = (int) Math.min(Integer.MAX_VALUE, 2L * service.maxMessageBytes());
  }

  /**
   * Runs each session's work on the transport thread that received the message instead of handing
   * it to an executor (gRPC's {@code directExecutor}). Saves two thread hand-offs per decode step
   * (measured: about 1.5 ms of a 5-8 ms step on the default model over loopback). Each UE has its
   * own connection, and connections are spread over the transport's event loops, so UEs on
   * different loops still run in parallel; UEs sharing a loop take turns.
   */
  public EdgeServer inlineCalls(boolean inline) {
    this.inlineCalls = inline;
    return this;
  }

  /**
   * Transport security and authentication of the TCP server: {@code credentials} (core's {@code
   * TlsCredentials.server}; null = plaintext) and the interceptor that establishes each caller's
   * identity (core's {@code AuthInterceptor}; null = none).
   */
  public EdgeServer security(ServerCredentials credentials, ServerInterceptor auth) {
    this.credentials = credentials;
    this.auth = auth;
    return this;
  }

  /**
   * Also serves gRPC health, and nothing else, in plaintext on {@code address} (core {@link
   * HealthPort}: Kubernetes' gRPC probes speak no TLS); null = not.
   */
  public EdgeServer healthPort(InetSocketAddress address) {
    this.healthAddress = address;
    return this;
  }

  /** The plaintext health port's bound port, -1 when there is none. */
  public int healthPortNumber() {
    return healthPort == null ? -1 : healthPort.port();
  }

  /** Starts on a TCP address (Netty). */
  public EdgeServer start(InetSocketAddress address) throws IOException {
    return start(
        credentials == null
            ? NettyServerBuilder.forAddress(address)
            : NettyServerBuilder.forAddress(address, credentials));
  }

  /** Starts in-process under {@code name} (tests). */
  public EdgeServer startInProcess(String name) throws IOException {
    return start(InProcessServerBuilder.forName(name));
  }

  /** Starts on a builder the caller configured (tests: a transport with one event loop). */
  EdgeServer start(ServerBuilder<?> builder) throws IOException {
    if (inlineCalls) {
      builder.directExecutor();
    }
    builder.intercept(new ClientKey());
    if (auth != null) {
      builder.intercept(auth);
    }
    server =
        builder
            .maxInboundMessageSize(maxInboundBytes)
            .addService(LenientSessionMarshaller.apply(service.bindService()))
            .addService(health.getHealthService())
            .addService(ProtoReflectionServiceV1.newInstance())
            .addStreamTracerFactory(new RefusalTracer())
            .build()
            .start();
    health.setStatus("", ServingStatus.SERVING);
    health.setStatus(SplitInferenceGrpc.SERVICE_NAME, ServingStatus.SERVING);
    if (healthAddress != null) {
      healthPort = new HealthPort(health.getHealthService(), healthAddress).start();
    }
    return this;
  }

  /** Bound TCP port (-1 in-process). */
  public int port() {
    return server.getPort();
  }

  /** The transport's hard limit on one inbound message. */
  public int maxInboundMessageBytes() {
    return maxInboundBytes;
  }

  public SplitInferenceService service() {
    return service;
  }

  public void awaitTermination() throws InterruptedException {
    server.awaitTermination();
  }

  /** Stops accepting, ends live sessions with UNAVAILABLE and waits up to 5 s. */
  public void stop() throws InterruptedException {
    if (server == null) {
      return;
    }
    health.enterTerminalState();
    server.shutdown();
    service.close();
    if (healthPort != null) {
      healthPort.close();
    }
    if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
      server.shutdownNow();
      server.awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /**
   * Drops every connection at once, as a crashed process would (no drain, no status sent by the
   * service); the failover tests' kill. Waits up to 5 s for the transport to close.
   */
  public void kill() throws InterruptedException {
    if (server == null) {
      return;
    }
    server.shutdownNow();
    server.awaitTermination(5, TimeUnit.SECONDS);
    service.close();
    if (healthPort != null) {
      healthPort.close();
    }
  }

  @Override
  public void close() {
    try {
      stop();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Counts streams that gRPC itself refused before the service saw a message. */
  private final class RefusalTracer extends ServerStreamTracer.Factory {
    @Override
    public ServerStreamTracer newServerStreamTracer(String fullMethodName, Metadata headers) {
      return new ServerStreamTracer() {
        @Override
        public void streamClosed(Status status) {
          String d = status.getDescription() == null ? "" : status.getDescription();
          if (status.getCode() == Status.Code.RESOURCE_EXHAUSTED && d.contains("exceeds maximum")) {
            metrics.rejected("message_too_large");
          } else if (d.contains("Invalid protobuf byte sequence")) {
            metrics.rejected("unparseable");
          }
        }
      };
    }
  }
}
