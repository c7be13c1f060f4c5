package io.splitinfer.ue;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.Logits;
import java.util.Arrays;

/**
 * How often the early exit after layer p (final norm + head on layer p's output, {@link
 * EarlyExitDrafter}) picks the whole model's greedy next token, for every p in 0..L at once: one
 * pass of the sequence through the layers, the head after each. This is the per-position agreement
 * α_p; a speculative round of k drafts accepts i of them with probability about α_p^i (1 - α_p), so
 * the acceptance measured through the split (accepted / drafted) is lower than α_p.
 */
public final class EarlyExitAgreement {
  private final InferenceEngine engine;

  public EarlyExitAgreement(InferenceEngine engine) {
    this.engine = engine;
  }

  /**
   * Agreement counts for p = 0..L over the positions [from, ids.length) of {@code ids}: element p
   * is the number of positions where argmax(head(layer p)) == argmax(head(layer L)).
   */
  public long[] agreements(int[] ids, int from, int chunk) {
    int layers = engine.config().numLayers();
    int vocab = engine.config().vocabSize();
    int d = engine.config().hiddenSize();
    long[] agree = new long[layers + 1];
    KvCache[] caches = new KvCache[layers + 1];
    try {
      for (int p = 1; p <= layers; p++) {
        caches[p] = engine.newCache(p, p); // one per layer: each runs on its own
      }
      for (int start = 0; start < ids.length; start += chunk) {
        int end = Math.min(ids.length, start + chunk);
        int t = end - start;
        int[][] picks = new int[layers + 1][];
        float[] h = engine.embed(Arrays.copyOfRange(ids, start, end));
        for (int p = 0; p <= layers; p++) {
          if (p > 0) {
            h = engine.runLayers(p, p, h, t, caches[p]);
          }
          float[] logits = engine.head(h, t);
          picks[p] = new int[t];
          for (int r = 0; r < t; r++) {
            picks[p][r] = Logits.argmax(logits, r * vocab, vocab);
          }
        }
        for (int r = 0; r < t; r++) {
          if (start + r < from) {
            continue;
          }
          for (int p = 0; p <= layers; p++) {
            if (picks[p][r] == picks[layers][r]) {
              agree[p]++;
            }
          }
        }
        assert h.length == t * d;
      }
    } finally {
      for (KvCache c : caches) {
        if (c != null) {
          c.close();
        }
      }
    }
    return agree;
  }
}
