package io.splitinfer.edge;

import java.time.Duration;

/**
 * Limits and knobs of an edge server.
 *
 * @param maxSessions concurrent sessions; one more is refused with RESOURCE_EXHAUSTED
 * @param kvBudgetBytes total KV-cache bytes over all sessions; a step that would exceed it is
 *     refused with RESOURCE_EXHAUSTED
 * @param idleTtl a session that receives nothing for this long ends with DEADLINE_EXCEEDED
 * @param maxChunkTokens largest T of one HiddenState (ModelInfo.max_chunk_tokens)
 * @param maxNewTokens upper bound on tokens generated per session (SessionOpen values are clamped)
 * @param minSplit smallest split accepted
 * @param maxSplit largest split accepted (-1 = L)
 * @param batchDecode batch decode steps of concurrent sessions per layer (runLayersBatch)
 * @param batchWindow how long the batcher waits for more decode steps once one is queued
 * @param batchMax most decode steps in one batch
 */
public record EdgeConfig(
    int maxSessions,
    long kvBudgetBytes,
    Duration idleTtl,
    int maxChunkTokens,
    int maxNewTokens,
    int minSplit,
    int maxSplit,
    boolean batchDecode,
    Duration batchWindow,
    int batchMax) {
  public EdgeConfig {
    if (batchMax < 1) {
      throw new IllegalArgumentException("batchMax must be >= 1");
    }
    if (maxSessions < 1) {
      throw new IllegalArgumentException("maxSessions must be >= 1");
    }
    if (kvBudgetBytes < 1) {
      throw new IllegalArgumentException("kvBudgetBytes must be >= 1");
    }
    if (maxChunkTokens < 1) {
      throw new IllegalArgumentException("maxChunkTokens must be >= 1");
    }
  }

  public static EdgeConfig defaults() {
    return new EdgeConfig(
        64, 1024L << 20, Duration.ofSeconds(60), 512, 4096, 0, -1, false, Duration.ZERO, 16);
  }

  public EdgeConfig withMaxSessions(int n) {
    return new EdgeConfig(
        n,
        kvBudgetBytes,
        idleTtl,
        maxChunkTokens,
        maxNewTokens,
        minSplit,
        maxSplit,
        batchDecode,
        batchWindow,
        batchMax);
  }

  public EdgeConfig withKvBudgetBytes(long bytes) {
    return new EdgeConfig(
        maxSessions,
        bytes,
        idleTtl,
        maxChunkTokens,
        maxNewTokens,
        minSplit,
        maxSplit,
        batchDecode,
        batchWindow,
        batchMax);
  }

  public EdgeConfig withIdleTtl(Duration ttl) {
    return new EdgeConfig(
        maxSessions,
        kvBudgetBytes,
        ttl,
        maxChunkTokens,
        maxNewTokens,
        minSplit,
        maxSplit,
        batchDecode,
        batchWindow,
        batchMax);
  }

  public EdgeConfig withMaxChunkTokens(int n) {
    return new EdgeConfig(
        maxSessions,
        kvBudgetBytes,
        idleTtl,
        n,
        maxNewTokens,
        minSplit,
        maxSplit,
        batchDecode,
        batchWindow,
        batchMax);
  }

  public EdgeConfig withSplitRange(int min, int max) {
    return new EdgeConfig(
        maxSessions,
        kvBudgetBytes,
        idleTtl,
        maxChunkTokens,
        maxNewTokens,
        min,
        max,
        batchDecode,
        batchWindow,
        batchMax);
  }

  public EdgeConfig withBatchDecode(boolean on, Duration window) {
    return new EdgeConfig(
        maxSessions,
        kvBudgetBytes,
        idleTtl,
        maxChunkTokens,
        maxNewTokens,
        minSplit,
        maxSplit,
        on,
        window,
        batchMax);
  }

  public EdgeConfig withBatchMax(int n) {
    return new EdgeConfig(
        maxSessions,
        kvBudgetBytes,
        idleTtl,
        maxChunkTokens,
        maxNewTokens,
        minSplit,
        maxSplit,
        batchDecode,
        batchWindow,
        n);
  }
}
