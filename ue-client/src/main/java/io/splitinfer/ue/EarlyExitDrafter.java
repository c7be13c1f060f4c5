package io.splitinfer.ue;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.Logits;

/**
 * The early-exit draft: the UE's own layers 1..p, then the model's final norm and LM head (tied to
 * the embedding in the default model), greedy. It reuses the UE's layer work: drafting token i + 1
 * runs layers 1..p on token i, which is exactly the row the UE sends for position i anyway, so a
 * round of k drafts costs k + 1 UE steps (as many as k + 1 plain decode steps) plus k heads. At p =
 * 0 it degenerates to head(embedding): a bigram guess from the token's own embedding.
 */
public final class EarlyExitDrafter implements Drafter {
  private final InferenceEngine engine;

  public EarlyExitDrafter(InferenceEngine engine) {
    this.engine = engine;
  }

  @Override
  public Draft draft(UeSession s, int last, int k) {
    int d = engine.config().hiddenSize();
    int[] ids = new int[k + 1];
    int[] drafts = new int[k];
    float[] rows = new float[(k + 1) * d];
    ids[0] = last;
    for (int i = 0; i <= k; i++) {
      float[] h = s.draftRow(ids[i]);
      System.arraycopy(h, 0, rows, i * d, d);
      if (i < k) {
        drafts[i] = next(engine, h);
        ids[i + 1] = drafts[i];
      }
    }
    return new Draft(ids, rows, drafts);
  }

  @Override
  public int guess(UeSession s, float[] lastRow) {
    return next(engine, lastRow);
  }

  /** The early exit's greedy token after a row at layer p ([1, d]): argmax of the head. */
  static int next(InferenceEngine engine, float[] row) {
    return Logits.argmax(engine.head(row, 1), 0, engine.config().vocabSize());
  }
}
