package io.splitinfer.model.privacy;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;

/**
 * The attacker who knows the model's weights: it recovers the tokens of a message one position at a
 * time. At position i, with the tokens recovered so far already run through layers 1..p (their
 * keys/values in a cache), it runs each candidate token c as position i through layers 1..p and
 * keeps the one whose layer-p output is closest (squared L2) to the observed row, the maximum
 * likelihood choice under Gaussian noise. The winner's keys/values extend the prefix.
 *
 * <p><b>Pruning.</b> Running all V tokens per position is V·p layer steps; instead the caller gives
 * each position a short candidate list (the linear probe's top-k and the top-k rows of the
 * embedding matrix by cosine similarity to the observed row, see {@link PrivacyAttack}). A correct
 * token outside that list is never found, so this measures a lower bound of what the weights allow.
 * With no noise the search stops at the first candidate that matches to float precision (relative
 * squared distance below {@link #EXACT}).
 */
final class WeightsInversion {
  /** Relative squared distance counted as an exact match (float32 ONNX vs ONNX ~1e-12). */
  static final double EXACT = 1e-8;

  private final InferenceEngine engine;
  private final int d;
  private long layerSteps;

  WeightsInversion(InferenceEngine engine) {
    this.engine = engine;
    this.d = engine.config().hiddenSize();
  }

  /** Single-token layer runs so far (the attack's cost). */
  long layerSteps() {
    return layerSteps;
  }

  /**
   * Recovers {@code tokens} positions of the observed layer-{@code p} output {@code observed} ([T,
   * d]); {@code candidates[i]} is position i's candidate list, best guess first.
   */
  int[] invert(int p, float[] observed, int tokens, int[][] candidates, boolean stopOnExact) {
    int[] out = new int[tokens];
    try (KvCache cache = engine.newCache(1, p)) {
      for (int i = 0; i < tokens; i++) {
        double norm = 0;
        for (int k = 0; k < d; k++) {
          norm += (double) observed[i * d + k] * observed[i * d + k];
        }
        int best = -1;
        double bestDist = Double.POSITIVE_INFINITY;
        for (int c : candidates[i]) {
          float[] h = engine.runLayers(1, p, engine.embed(new int[] {c}), 1, cache);
          layerSteps += p;
          cache.truncate(i);
          double dist = 0;
          for (int k = 0; k < d; k++) {
            double diff = h[k] - observed[i * d + k];
            dist += diff * diff;
          }
          if (dist < bestDist) {
            bestDist = dist;
            best = c;
          }
          if (stopOnExact && dist <= EXACT * Math.max(norm, 1e-30)) {
            break;
          }
        }
        out[i] = best;
        engine.runLayers(1, p, engine.embed(new int[] {best}), 1, cache);
        layerSteps += p;
      }
    }
    return out;
  }
}
