package io.splitinfer.core.metrics;

import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * Serves a Prometheus registry at {@code /metrics} (and {@code /health}) on its own port. Port 0
 * picks a free port; {@link #port()} tells which.
 */
public final class MetricsHttpServer implements AutoCloseable {
  private final PrometheusMeterRegistry registry;
  private final String host;
  private final int requestedPort;
  private HttpServer server;

  public MetricsHttpServer(PrometheusMeterRegistry registry, String host, int port) {
    this.registry = registry;
    this.host = host;
    this.requestedPort = port;
  }

  /** A fresh Prometheus registry (one per process, passed around explicitly). */
  public static PrometheusMeterRegistry newRegistry() {
    return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  public MetricsHttpServer start() throws IOException {
    if (requestedPort < 0) {
      return this;
    }
    server = HttpServer.create(new InetSocketAddress(host, requestedPort), 0);
    server.createContext(
        "/metrics",
        exchange -> {
          byte[] body = registry.scrape().getBytes(StandardCharsets.UTF_8);
          exchange.getResponseHeaders().add("Content-Type", "text/plain; version=0.0.4");
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    server.createContext(
        "/health",
        exchange -> {
          byte[] body = "ok\n".getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    server.start();
    return this;
  }

  /** The bound port, or -1 when disabled. */
  public int port() {
    return server == null ? -1 : server.getAddress().getPort();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    if (server != null) {
      server.stop(0);
    }
  }
}
