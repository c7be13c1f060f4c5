package io.splitinfer.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Raw-socket tests of the metrics/health server: slow clients are dropped, others unaffected. */
class MetricsHttpServerTest {
  private static String get(int port, String path) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
      s.setSoTimeout(2000);
      OutputStream out = s.getOutputStream();
      out.write(
          ("GET " + path + " HTTP/1.0\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  @Test
  void halfWrittenRequestsAreDroppedAndOthersServed() throws Exception {
    PrometheusMeterRegistry reg = MetricsHttpServer.newRegistry();
    reg.counter("probe_total").increment();
    try (MetricsHttpServer server =
        new MetricsHttpServer(reg, "127.0.0.1", 0, Duration.ofMillis(4000)).start()) {
      int port = server.port();
      List<Socket> slow = new ArrayList<>();
      try {
        for (int i = 0; i < 4; i++) {
          Socket s = new Socket("127.0.0.1", port);
          s.getOutputStream().write("GET /heal".getBytes(StandardCharsets.US_ASCII));
          s.getOutputStream().flush();
          slow.add(s);
        }
        // while four clients hang mid request line, health and metrics answer within get()'s 2 s
        // socket timeout, well inside the 4 s the slow clients are given
        String health = get(port, "/health");
        assertTrue(health.matches("(?s)HTTP/1.. 200.*"), health);
        assertTrue(health.endsWith("ok\n"), health);
        String metrics = get(port, "/metrics");
        assertTrue(metrics.contains("probe_total"), metrics);
        // the slow clients are dropped after the read timeout: their reads see end of stream
        for (Socket s : slow) {
          s.setSoTimeout(10_000);
          InputStream in = s.getInputStream();
          assertEquals(-1, in.read(), "the server closed the half-written request");
        }
      } finally {
        for (Socket s : slow) {
          s.close();
        }
      }
      assertEquals(4.0, reg.counter("metrics_http_dropped", "reason", "read_timeout").count());
      assertTrue(get(port, "/nope").matches("(?s)HTTP/1.. 404.*"));
      assertTrue(get(port, "/health?x=1").matches("(?s)HTTP/1.. 200.*"));
    }
  }

  @Test
  void oversizedHeadIsRefused() throws Exception {
    PrometheusMeterRegistry reg = MetricsHttpServer.newRegistry();
    try (MetricsHttpServer server = new MetricsHttpServer(reg, "127.0.0.1", 0).start();
        Socket s = new Socket("127.0.0.1", server.port())) {
      s.setSoTimeout(5000);
      OutputStream out = s.getOutputStream();
      out.write(
          ("GET /metrics HTTP/1.1\r\nX: " + "a".repeat(MetricsHttpServer.MAX_HEAD_BYTES))
              .getBytes(StandardCharsets.US_ASCII));
      out.flush();
      String reply = new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
      assertTrue(reply.startsWith("HTTP/1.1 431"), reply);
    }
  }

  @Test
  void bindsTheGivenHostOnly() throws Exception {
    try (MetricsHttpServer server =
        new MetricsHttpServer(MetricsHttpServer.newRegistry(), "127.0.0.1", 0).start()) {
      assertTrue(get(server.port(), "/health").matches("(?s)HTTP/1.. 200.*"));
      java.net.InetAddress other = null;
      for (var nif : java.util.Collections.list(java.net.NetworkInterface.getNetworkInterfaces())) {
        for (var a : java.util.Collections.list(nif.getInetAddresses())) {
          if (!a.isLoopbackAddress() && a instanceof java.net.Inet4Address) {
            other = a;
          }
        }
      }
      org.junit.jupiter.api.Assumptions.assumeTrue(other != null, "no non-loopback address");
      try (Socket s = new Socket()) {
        java.net.InetAddress target = other;
        org.junit.jupiter.api.Assertions.assertThrows(
            IOException.class, () -> s.connect(new InetSocketAddress(target, server.port()), 2000));
      }
    }
  }
}
