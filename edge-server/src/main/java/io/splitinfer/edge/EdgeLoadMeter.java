package io.splitinfer.edge;

import io.splitinfer.proto.v1.EdgeCapacity;
import io.splitinfer.proto.v1.EdgeLoad;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * What this edge reports to the pool (ControllerLink's load reports): its capacity (the session and
 * KV budgets and split range it serves) and, per report, its open sessions, reserved KV bytes and
 * the mean decode-queue depth since the previous report, sampled every {@code sampleEvery} (an
 * instantaneous depth would be mostly 0 between batches). Construction does no I/O; {@link #start}
 * starts the sampler thread.
 */
public final class EdgeLoadMeter implements AutoCloseable {
  private final SplitInferenceService service;
  private final EdgeConfig config;
  private final Duration sampleEvery;
  private final ScheduledExecutorService sampler =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "edge-load-sampler");
            t.setDaemon(true);
            return t;
          });
  private long queueSum; // guarded by this
  private long samples;

  public EdgeLoadMeter(SplitInferenceService service, EdgeConfig config, Duration sampleEvery) {
    this.service = service;
    this.config = config;
    this.sampleEvery = sampleEvery;
  }

  public EdgeLoadMeter start() {
    long ms = Math.max(1, sampleEvery.toMillis());
    sampler.scheduleAtFixedRate(this::sample, ms, ms, TimeUnit.MILLISECONDS);
    return this;
  }

  private synchronized void sample() {
    queueSum += service.decodeQueueDepth();
    samples++;
  }

  /** The capacity this edge registers with. */
  public EdgeCapacity capacity() {
    return EdgeCapacity.newBuilder()
        .setMaxSessions(config.maxSessions())
        .setKvBudgetBytes(config.kvBudgetBytes())
        .setMinSplit(service.modelInfo().getMinSplit())
        .setMaxSplit(service.modelInfo().getMaxSplit())
        .build();
  }

  /** The load now; the decode-queue mean restarts. */
  public synchronized EdgeLoad load() {
    double queue = samples == 0 ? service.decodeQueueDepth() : queueSum / (double) samples;
    queueSum = 0;
    samples = 0;
    return EdgeLoad.newBuilder()
        .setActiveSessions(service.liveSessions())
        .setKvBytes(Math.min(config.kvBudgetBytes(), service.kvBytesReserved()))
        .setDecodeQueue(Math.min(config.maxSessions(), queue))
        .setSentAtUnixMs(System.currentTimeMillis())
        .build();
  }

  @Override
  public void close() {
    sampler.shutdownNow();
  }
}
