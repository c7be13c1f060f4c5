package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The periodic reaper cannot die silently; the KV budget refuses and returns bytes. */
class SessionTableTest {
  @Test
  void guardedPeriodicTaskKeepsRunningAndCountsFailures() throws Exception {
    EdgeMetrics metrics = new EdgeMetrics(new SimpleMeterRegistry());
    AtomicInteger runs = new AtomicInteger();
    CountDownLatch four = new CountDownLatch(4);
    ScheduledExecutorService ex = Executors.newSingleThreadScheduledExecutor();
    try {
      ex.scheduleAtFixedRate(
          SessionTable.guarded(
              "test task",
              () -> {
                runs.incrementAndGet();
                four.countDown();
                throw new IllegalStateException("boom " + runs.get());
              },
              metrics),
          0,
          5,
          TimeUnit.MILLISECONDS);
      // Runs are sequential: the 4th starts only after the 3rd failure was counted.
      assertTrue(four.await(10, TimeUnit.SECONDS), "the task ran again after failing");
    } finally {
      ex.shutdownNow();
      assertTrue(ex.awaitTermination(10, TimeUnit.SECONDS));
    }
    assertTrue(metrics.reaperFailures() >= 3);
    assertEquals(
        metrics.reaperFailures(), metrics.registry().get("edge_reaper_failures").counter().count());
  }

  @Test
  void kvBudgetRefusesBeyondAndReturns() {
    EdgeMetrics metrics = new EdgeMetrics(new SimpleMeterRegistry());
    try (SessionTable t =
        new SessionTable(EdgeConfig.defaults().withKvBudgetBytes(1000), metrics)) {
      assertTrue(t.reserveKv(600));
      assertTrue(!t.reserveKv(500));
      assertEquals(600, t.kvReserved());
      assertTrue(t.reserveKv(-600));
      assertEquals(0, t.kvReserved());
      t.heldKv(64);
      assertEquals(64, t.kvHeld());
      assertEquals(64.0, metrics.registry().get("edge_kv_held_bytes").gauge().value());
    }
  }
}
