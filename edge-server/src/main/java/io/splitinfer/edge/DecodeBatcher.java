package io.splitinfer.edge;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.InferenceEngine.BatchItem;
import io.splitinfer.model.engine.KvCache;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs the decode steps ([1, d] each) of concurrent sessions together on one worker thread: it
 * gathers up to {@code maxBatch} queued steps, waiting at most {@code window} after the first, and
 * runs them as one {@link InferenceEngine#runLayersBatch} (the ONNX engine makes one call per layer
 * for the sessions whose range holds that layer, so sessions at different splits batch where their
 * ranges overlap) and one {@link InferenceEngine#head} call over the rows that want logits. Nobody
 * blocks on it: {@link #submit} returns a future, completed on the worker thread, so a transport
 * thread (gRPC {@code directExecutor}) hands a step over and returns.
 */
final class DecodeBatcher implements AutoCloseable {
  /** What a decode step gives back: the edge's last hidden row and, when asked, its logits. */
  record Step(float[] hidden, float[] logits) {}

  private record Pending(BatchItem item, boolean logits, CompletableFuture<Step> result) {}

  private final InferenceEngine engine;
  private final long windowNanos;
  private final int maxBatch;
  private final EdgeMetrics metrics;
  private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  private final Thread worker;
  private volatile boolean closed;

  DecodeBatcher(InferenceEngine engine, Duration window, int maxBatch, EdgeMetrics metrics) {
    if (maxBatch < 1) {
      throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
    }
    this.engine = engine;
    this.windowNanos = window.toNanos();
    this.maxBatch = maxBatch;
    this.metrics = metrics;
    this.worker = new Thread(this::loop, "edge-decode-batcher");
    this.worker.setDaemon(true);
  }

  DecodeBatcher start() {
    worker.start();
    return this;
  }

  /** Decode steps waiting for a batch now (the pool's load report). */
  int queued() {
    return queue.size();
  }

  /**
   * Queues layers [from, to] on one new position of {@code cache} (and the head when {@code
   * logits}); the future completes on the batcher's thread. The caller must not touch {@code cache}
   * until then.
   */
  CompletableFuture<Step> submit(int from, int to, float[] hidden, KvCache cache, boolean logits) {
    Pending p =
        new Pending(new BatchItem(from, to, hidden, cache), logits, new CompletableFuture<>());
    if (closed) {
      p.result().completeExceptionally(new CancellationException("decode batcher closed"));
      return p.result();
    }
    queue.add(p);
    if (closed && queue.remove(p)) {
      p.result().completeExceptionally(new CancellationException("decode batcher closed"));
    }
    return p.result();
  }

  private void loop() {
    List<Pending> batch = new ArrayList<>();
    while (!closed) {
      try {
        Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, maxBatch - batch.size());
        long deadline = System.nanoTime() + windowNanos;
        while (batch.size() < maxBatch) {
          long left = deadline - System.nanoTime();
          Pending next = left > 0 ? queue.poll(left, TimeUnit.NANOSECONDS) : queue.poll();
          if (next == null) {
            break;
          }
          batch.add(next);
        }
        runBatch(batch);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        for (Pending p : batch) {
          p.result().completeExceptionally(new CancellationException("decode batcher closed"));
        }
        break;
      } finally {
        batch.clear();
      }
    }
    for (Pending p; (p = queue.poll()) != null; ) {
      p.result().completeExceptionally(new CancellationException("decode batcher closed"));
    }
  }

  private void runBatch(List<Pending> batch) {
    metrics.batch(batch.size());
    Step[] steps = new Step[batch.size()];
    try {
      List<float[]> out = engine.runLayersBatch(batch.stream().map(Pending::item).toList());
      int d = engine.config().hiddenSize();
      int v = engine.config().vocabSize();
      int heads = (int) batch.stream().filter(Pending::logits).count();
      float[] rows = new float[heads * d];
      for (int i = 0, r = 0; i < batch.size(); i++) {
        if (batch.get(i).logits()) {
          System.arraycopy(out.get(i), 0, rows, r++ * d, d);
        }
      }
      float[] logits = heads == 0 ? null : engine.head(rows, heads);
      for (int i = 0, r = 0; i < batch.size(); i++) {
        float[] l = batch.get(i).logits() ? Arrays.copyOfRange(logits, r * v, ++r * v) : null;
        steps[i] = new Step(out.get(i), l);
      }
    } catch (RuntimeException e) {
      // Inputs are validated before they reach the batcher, so this is an engine fault; a retry
      // could append a position twice to a cache the failed call already touched.
      for (Pending p : batch) {
        p.result().completeExceptionally(e);
      }
      return;
    }
    for (int i = 0; i < batch.size(); i++) {
      batch.get(i).result().complete(steps[i]);
    }
  }

  /** Stops the worker; a batch already running finishes first, queued steps fail. */
  @Override
  public void close() {
    closed = true;
    worker.interrupt();
    try {
      worker.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
