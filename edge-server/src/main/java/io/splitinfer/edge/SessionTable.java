package io.splitinfer.edge;

import io.grpc.Status;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The edge's live sessions: the id registry, the session limit, the KV budget and the idle reaper.
 * The budget counts <em>reserved</em> KV bytes, the logical size positions x layers x (2 x kvHeads
 * x headDim x 4 B) that admission is decided on, and separately the bytes the caches actually hold
 * ({@code KvCache.bytes()}, gauge {@code edge_kv_held_bytes}); with {@code ArrayKvCache}, which
 * grows by doubling from 16 positions, held is at most 2x reserved plus 16 positions per layer and
 * session. It owns no session state and never touches a cache or a stream: sessions reserve and
 * return bytes through it, and the reaper only asks them to {@link EdgeSession#expire}. The reaper
 * catches, logs and counts ({@code edge_reaper_failures_total}) every failure, so it cannot die.
 */
final class SessionTable implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SessionTable.class);

  /** Outcome of {@link #register}. */
  enum Registration {
    OK,
    FULL,
    DUPLICATE
  }

  private final EdgeConfig config;
  private final EdgeMetrics metrics;
  private final ConcurrentMap<String, EdgeSession> sessions = new ConcurrentHashMap<>();
  private final AtomicLong kvReserved = new AtomicLong();
  private final AtomicLong kvHeld = new AtomicLong();
  private final ScheduledExecutorService reaper;

  SessionTable(EdgeConfig config, EdgeMetrics metrics) {
    this.config = config;
    this.metrics = metrics;
    metrics.bindGauges(sessions::size, kvReserved::get, kvHeld::get);
    this.reaper =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "edge-session-reaper");
              t.setDaemon(true);
              return t;
            });
    long period = Math.max(50, Math.min(1000, config.idleTtl().toMillis() / 4));
    reaper.scheduleAtFixedRate(
        guarded("idle reaper", this::reapIdle, metrics), period, period, TimeUnit.MILLISECONDS);
  }

  /**
   * {@code task} for a periodic executor: a failure is logged and counted instead of ending the
   * schedule (a {@code scheduleAtFixedRate} task that throws is never run again).
   */
  static Runnable guarded(String name, Runnable task, EdgeMetrics metrics) {
    return () -> {
      try {
        task.run();
      } catch (RuntimeException | Error e) {
        metrics.reaperFailure();
        log.error("{} failed; it keeps running", name, e);
      }
    };
  }

  /** Adds a live session unless the id is taken or the session limit is reached. */
  synchronized Registration register(EdgeSession s) {
    if (sessions.containsKey(s.id())) {
      return Registration.DUPLICATE;
    }
    if (sessions.size() >= config.maxSessions()) {
      return Registration.FULL;
    }
    sessions.put(s.id(), s);
    return Registration.OK;
  }

  void unregister(EdgeSession s) {
    sessions.remove(s.id(), s);
  }

  int size() {
    return sessions.size();
  }

  /** Reserves (delta > 0) or returns (delta < 0) KV bytes; false when over budget. */
  boolean reserveKv(long delta) {
    while (true) {
      long cur = kvReserved.get();
      long next = cur + delta;
      if (delta > 0 && next > config.kvBudgetBytes()) {
        return false;
      }
      if (kvReserved.compareAndSet(cur, next)) {
        return true;
      }
    }
  }

  /** Records a change of the bytes the caches actually hold. */
  void heldKv(long delta) {
    kvHeld.addAndGet(delta);
  }

  long kvReserved() {
    return kvReserved.get();
  }

  long kvHeld() {
    return kvHeld.get();
  }

  private void reapIdle() {
    Duration ttl = config.idleTtl();
    long now = System.nanoTime();
    for (EdgeSession s : sessions.values()) {
      if (now - s.lastActivityNanos() > ttl.toNanos()) {
        s.expire(ttl);
      }
    }
  }

  /** Ends every live session with {@code status}. */
  void endAll(Status status) {
    for (EdgeSession s : sessions.values()) {
      s.terminate(status, "shutdown");
    }
  }

  @Override
  public void close() {
    reaper.shutdownNow();
  }
}
