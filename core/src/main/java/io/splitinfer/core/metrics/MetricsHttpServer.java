package io.splitinfer.core.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves a Prometheus registry at {@code /metrics} (and {@code /health}) on its own port, bound to
 * the given host (services pass their {@code --listen} host unless told otherwise). Port 0 picks a
 * free port; {@link #port()} tells which; a negative port disables it.
 *
 * <p>A slow client cannot stall the others: each connection is read on its own worker (at most
 * {@link #MAX_CONNECTIONS} at once; more are closed at once and counted), the whole request head
 * must arrive within the read timeout and {@link #MAX_HEAD_BYTES}, or the connection is dropped
 * (counted in {@code metrics_http_dropped{reason}}). One request per connection (HTTP/1.0 style,
 * {@code Connection: close}); GET and HEAD only.
 */
public final class MetricsHttpServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(MetricsHttpServer.class);

  /** Time a client has to send its whole request head. */
  public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(5);

  /** Connections served at once; more are refused. */
  public static final int MAX_CONNECTIONS = 16;

  /** Largest request head (request line plus headers). */
  public static final int MAX_HEAD_BYTES = 8192;

  private final PrometheusMeterRegistry registry;
  private final String host;
  private final int requestedPort;
  private final Duration readTimeout;
  private final AtomicInteger active = new AtomicInteger();
  private ServerSocket socket;
  private ThreadPoolExecutor workers;
  private Thread acceptor;

  public MetricsHttpServer(PrometheusMeterRegistry registry, String host, int port) {
    this(registry, host, port, DEFAULT_READ_TIMEOUT);
  }

  public MetricsHttpServer(
      PrometheusMeterRegistry registry, String host, int port, Duration readTimeout) {
    if (readTimeout.isNegative() || readTimeout.isZero()) {
      throw new IllegalArgumentException("readTimeout must be > 0, got " + readTimeout);
    }
    this.registry = registry;
    this.host = host;
    this.requestedPort = port;
    this.readTimeout = readTimeout;
  }

  /** A fresh Prometheus registry (one per process, passed around explicitly). */
  public static PrometheusMeterRegistry newRegistry() {
    return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  public MetricsHttpServer start() throws IOException {
    if (requestedPort < 0) {
      return this;
    }
    socket = new ServerSocket();
    socket.setReuseAddress(true);
    socket.bind(new InetSocketAddress(host, requestedPort), 64);
    AtomicInteger n = new AtomicInteger();
    workers =
        new ThreadPoolExecutor(
            0,
            MAX_CONNECTIONS,
            30,
            TimeUnit.SECONDS,
            new SynchronousQueue<>(),
            r -> {
              Thread t = new Thread(r, "metrics-http-" + n.incrementAndGet());
              t.setDaemon(true);
              return t;
            });
    acceptor = new Thread(this::acceptLoop, "metrics-http-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    return this;
  }

  private void acceptLoop() {
    while (!socket.isClosed()) {
      Socket s;
      try {
        s = socket.accept();
      } catch (IOException e) {
        if (!socket.isClosed()) {
          log.warn("metrics http accept failed", e);
        }
        continue;
      }
      try {
        workers.execute(() -> serve(s));
      } catch (RejectedExecutionException e) {
        dropped("too_many_connections");
        closeQuietly(s);
      }
    }
  }

  private void serve(Socket s) {
    active.incrementAndGet();
    try (s) {
      String requestLine = readHead(s);
      if (requestLine == null) {
        return;
      }
      String[] parts = requestLine.split(" ");
      if (parts.length != 3 || !parts[2].startsWith("HTTP/")) {
        dropped("bad_request");
        respond(s, 400, "Bad Request", "text/plain", "bad request line\n", true);
        return;
      }
      boolean head = parts[0].equals("HEAD");
      if (!head && !parts[0].equals("GET")) {
        respond(s, 405, "Method Not Allowed", "text/plain", "GET or HEAD\n", true);
        return;
      }
      String path = parts[1];
      int q = path.indexOf('?');
      path = q >= 0 ? path.substring(0, q) : path;
      switch (path) {
        case "/metrics" ->
            respond(s, 200, "OK", "text/plain; version=0.0.4", registry.scrape(), !head);
        case "/health" -> respond(s, 200, "OK", "text/plain", "ok\n", !head);
        default -> respond(s, 404, "Not Found", "text/plain", "not found\n", !head);
      }
    } catch (IOException e) {
      log.debug("metrics http connection failed", e);
    } finally {
      active.decrementAndGet();
    }
  }

  /**
   * Reads the request head within the read timeout; returns its request line, or null (and drops
   * the connection) on timeout, oversize or early close.
   */
  private String readHead(Socket s) throws IOException {
    long deadline = System.nanoTime() + readTimeout.toNanos();
    InputStream in = s.getInputStream();
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int state = 0; // matches of "\r\n\r\n" (or "\n\n") so far
    while (true) {
      long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
      if (left <= 0) {
        dropped("read_timeout");
        return null;
      }
      s.setSoTimeout((int) Math.max(1, left));
      int b;
      try {
        b = in.read();
      } catch (SocketTimeoutException e) {
        dropped("read_timeout");
        return null;
      }
      if (b < 0) {
        dropped("incomplete");
        return null;
      }
      head.write(b);
      if (head.size() > MAX_HEAD_BYTES) {
        dropped("head_too_large");
        respond(s, 431, "Request Header Fields Too Large", "text/plain", "too large\n", true);
        return null;
      }
      if (b == '\n') {
        state++;
        if (state == 2) {
          break;
        }
      } else if (b != '\r') {
        state = 0;
      }
    }
    String text = head.toString(StandardCharsets.ISO_8859_1);
    int eol = text.indexOf('\n');
    return text.substring(0, eol).strip();
  }

  private static void respond(
      Socket s, int code, String reason, String type, String body, boolean withBody)
      throws IOException {
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    String head =
        "HTTP/1.1 "
            + code
            + " "
            + reason
            + "\r\nContent-Type: "
            + type
            + "\r\nContent-Length: "
            + b.length
            + "\r\nConnection: close\r\n\r\n";
    OutputStream out = s.getOutputStream();
    out.write(head.getBytes(StandardCharsets.ISO_8859_1));
    if (withBody) {
      out.write(b);
    }
    out.flush();
    s.shutdownOutput();
  }

  private void dropped(String reason) {
    Counter.builder("metrics_http_dropped")
        .description("metrics/health HTTP connections dropped")
        .tag("reason", reason)
        .register(registry)
        .increment();
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // nothing to do
    }
  }

  /** The bound port, or -1 when disabled. */
  public int port() {
    return socket == null ? -1 : socket.getLocalPort();
  }

  /** Connections being served now. */
  public int activeConnections() {
    return active.get();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    if (socket != null) {
      try {
        socket.close();
      } catch (IOException e) {
        log.debug("closing metrics socket", e);
      }
    }
    if (workers != null) {
      workers.shutdownNow();
    }
    if (acceptor != null) {
      acceptor.interrupt();
    }
  }
}
