package io.splitinfer.model.engine;

import java.util.Arrays;

/**
 * Recomputes the keys/values of layers that joined a cache at a split switch (the alternative to
 * importing them): runs those layers over the hidden states that enter them, for positions [0, n),
 * in runs of at most {@code chunk} positions on a scratch cache (a run must start at the cache's
 * length), then imports each layer's keys/values into the session's cache. Used by both sides: the
 * UE gaining layers and the edge gaining layers.
 */
public final class KvRecompute {
  private KvRecompute() {}

  /**
   * Runs layers [from, to] over {@code hidden} [n, d] (the output of layer from-1 at positions
   * 0..n-1) and writes their keys/values into {@code cache} (whose layers from..to must be empty);
   * returns the output of layer {@code to} [n, d].
   */
  public static float[] run(
      InferenceEngine engine, KvCache cache, int from, int to, float[] hidden, int n, int chunk) {
    int d = engine.config().hiddenSize();
    float[] out = new float[Math.multiplyExact(n, d)];
    try (KvCache scratch = engine.newCache(from, to)) {
      for (int f = 0; f < n; f += chunk) {
        int e = Math.min(n, f + chunk);
        float[] h =
            engine.runLayers(from, to, Arrays.copyOfRange(hidden, f * d, e * d), e - f, scratch);
        System.arraycopy(h, 0, out, f * d, h.length);
      }
      for (int l = from; l <= to; l++) {
        cache.importLayer(l, 0, n, scratch.exportKeys(l, 0, n), scratch.exportValues(l, 0, n));
      }
    }
    return out;
  }
}
