package io.splitinfer.edge;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.InferenceEngine.BatchItem;
import io.splitinfer.model.engine.KvCache;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs the decode steps ([1, d] each) of concurrent sessions together, one {@link
 * InferenceEngine#runLayersBatch} call per gathered batch, on one worker thread. A caller blocks in
 * {@link #run} until its step is done. Sessions at different splits batch together: each item has
 * its own first layer and the engine groups them per layer.
 */
final class DecodeBatcher implements AutoCloseable {
  private record Pending(BatchItem item, CompletableFuture<float[]> result) {}

  private final InferenceEngine engine;
  private final long windowNanos;
  private final int maxBatch;
  private final EdgeMetrics metrics;
  private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>();
  private final Thread worker;
  private volatile boolean closed;

  DecodeBatcher(InferenceEngine engine, Duration window, int maxBatch, EdgeMetrics metrics) {
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

  /** Runs layers [from, to] on one new position of {@code cache}; blocks until done. */
  float[] run(int from, int to, float[] hidden, KvCache cache) throws InterruptedException {
    if (closed) {
      throw new IllegalStateException("decode batcher closed");
    }
    Pending p = new Pending(new BatchItem(from, to, hidden, cache), new CompletableFuture<>());
    queue.add(p);
    try {
      return p.result().get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException(e.getCause());
    }
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
        break;
      } finally {
        batch.clear();
      }
    }
    for (Pending p; (p = queue.poll()) != null; ) {
      p.result().completeExceptionally(new IllegalStateException("decode batcher closed"));
    }
  }

  private void runBatch(List<Pending> batch) {
    metrics.batch(batch.size());
    try {
      List<float[]> out = engine.runLayersBatch(batch.stream().map(Pending::item).toList());
      for (int i = 0; i < batch.size(); i++) {
        batch.get(i).result().complete(out.get(i));
      }
    } catch (RuntimeException e) {
      // Inputs are validated before they reach the batcher, so this is an engine fault; a retry
      // could append a position twice to a cache the failed call already touched.
      for (Pending p : batch) {
        p.result().completeExceptionally(e);
      }
    }
  }

  @Override
  public void close() {
    closed = true;
    worker.interrupt();
  }
}
