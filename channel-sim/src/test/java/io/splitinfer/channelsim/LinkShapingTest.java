package io.splitinfer.channelsim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.core.channel.ChannelParams.LinkShape;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Delay, jitter, rate and backpressure, measured through the real proxy on loopback. */
class LinkShapingTest {
  @Test
  void delayAddsUpAndDownWithinTenPercent() throws Exception {
    ChannelParams p =
        ChannelParams.builder()
            .uplink(new LinkShape(40, 0, 0, 0))
            .downlink(new LinkShape(20, 0, 0, 0))
            .build();
    try (ProxyHarness h = new ProxyHarness(p)) {
      // the configured 40 + 20 ms on top of the direct loopback round trip; minimum of 15 tries
      // against scheduling noise from other processes on the machine
      double direct = minEchoMs(new ProxyHarness.Session(h.direct));
      double proxied = minEchoMs(new ProxyHarness.Session(h.ue));
      assertEquals(60, proxied - direct, 6, "proxied " + proxied + " ms, direct " + direct + " ms");
    }
  }

  static double minEchoMs(ProxyHarness.Session s) throws Exception {
    s.call.sendMessage(new byte[] {1});
    s.next(); // warm-up (connection set-up)
    double min = Double.MAX_VALUE;
    for (int i = 0; i < 15; i++) {
      long t0 = System.nanoTime();
      s.call.sendMessage(new byte[] {(byte) i});
      s.next();
      min = Math.min(min, (System.nanoTime() - t0) / 1e6);
    }
    s.finish();
    return min;
  }

  @Test
  void jitterNeverReorders() throws Exception {
    ChannelParams p = ChannelParams.builder().uplink(new LinkShape(10, 9, 0, 0)).seed(3).build();
    try (ProxyHarness h = new ProxyHarness(p)) {
      ProxyHarness.Session s = new ProxyHarness.Session(h.ue);
      for (int i = 0; i < 200; i++) {
        s.call.sendMessage(new byte[] {(byte) i, (byte) (i >> 8)});
      }
      for (int i = 0; i < 200; i++) {
        assertArrayEquals(new byte[] {(byte) i, (byte) (i >> 8)}, s.next());
      }
      s.finish();
    }
  }

  @Test
  void rateLimitsThroughputWithinTenPercent() throws Exception {
    double rate = 40e6; // 40 Mbit/s = 5 MB/s
    ChannelParams p = ChannelParams.builder().uplink(new LinkShape(0, 0, rate, 0)).build();
    try (ProxyHarness h = new ProxyHarness(p)) {
      ProxyHarness.Session s = new ProxyHarness.Session(h.ue);
      s.call.sendMessage(new byte[100]);
      s.next();
      h.edge.received.clear();
      h.edge.arrivalNanos.clear();
      int n = 40;
      int size = 50_000;
      for (int i = 0; i < n; i++) {
        s.call.sendMessage(new byte[size]);
      }
      for (int i = 0; i < n; i++) {
        try {
          s.next();
        } catch (AssertionError e) {
          throw new AssertionError(
              "reply " + i + " edge got " + h.edge.received.size() + " " + h.sim.proxy().lastCall(),
              e);
        }
      }
      s.finish();
      // n−1 inter-arrival gaps, each one message's transmission time
      double seconds = (h.edge.arrivalNanos.get(n - 1) - h.edge.arrivalNanos.get(0)) / 1e9;
      double measured = (n - 1) * size * 8 / seconds;
      assertEquals(rate, measured, 0.1 * rate, "measured " + measured / 1e6 + " Mbit/s");
    }
  }

  @Test
  void slowEdgeStallsTheUeWithABoundedQueue() throws Exception {
    long queue = 256 * 1024;
    int size = 64 * 1024;
    ChannelParams p = ChannelParams.builder().uplink(new LinkShape(0, 0, 0, queue)).build();
    try (ProxyHarness h = new ProxyHarness(p)) {
      h.edge.paused.set(true);
      ClientCall<byte[], byte[]> call = h.ue.newCall(FakeEdge.SESSION, CallOptions.DEFAULT);
      AtomicInteger sent = new AtomicInteger();
      int total = 400; // 25.6 MB: far more than any buffer on the path
      Object lock = new Object();
      Runnable pump =
          () -> {
            synchronized (lock) {
              while (call.isReady() && sent.get() < total) {
                byte[] m = new byte[size];
                m[0] = (byte) sent.get();
                m[1] = (byte) (sent.get() >> 8);
                call.sendMessage(m);
                sent.incrementAndGet();
              }
            }
          };
      call.start(
          new ClientCall.Listener<>() {
            @Override
            public void onReady() {
              pump.run();
            }

            @Override
            public void onClose(Status status, Metadata trailers) {}
          },
          new Metadata());
      call.request(Integer.MAX_VALUE);
      pump.run();
      Thread.sleep(1000);
      int stalledAt = sent.get();
      // the proxy held at most its limit plus one message; the rest sits in HTTP/2 windows
      // (about 1 MiB per hop), so the UE is stopped well before sending everything
      long held = h.sim.proxy().lastCall().up().maxQueuedBytes();
      assertTrue(held <= queue + size, "proxy held " + held);
      assertTrue(stalledAt < 100, "UE sent " + stalledAt + " messages against a stalled edge");
      assertEquals(0, h.edge.received.size());
      // release the edge: everything arrives, in order
      h.edge.paused.set(false);
      h.edge.request(total);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (h.edge.received.size() < total && System.nanoTime() < deadline) {
        pump.run();
        Thread.sleep(10);
      }
      assertEquals(total, h.edge.received.size());
      for (int i = 0; i < total; i++) {
        byte[] m = h.edge.received.get(i);
        assertEquals(i, (m[0] & 0xff) | (m[1] & 0xff) << 8);
      }
      assertTrue(h.sim.proxy().lastCall().up().maxQueuedBytes() <= queue + size);
      call.cancel("done", null);
    }
  }
}
