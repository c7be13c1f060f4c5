package io.splitinfer.edge;

import io.splitinfer.ue.Drafter;
import io.splitinfer.ue.UeSession;
import java.util.SplittableRandom;

/**
 * Drafts the known greedy continuation ({@code truth}: prompt + expected tokens, indexed by
 * position), each draft replaced by a wrong id with probability {@code wrong} (seeded): rounds that
 * accept everything (with the edge's bonus token), a prefix, or nothing; {@link #guess}es for
 * {@code Lookahead} the same way.
 */
final class ScriptDrafter implements Drafter {
  private final int[] truth;
  private final double wrong;
  private final SplittableRandom r;

  ScriptDrafter(int[] truth, double wrong, long seed) {
    this.truth = truth;
    this.wrong = wrong;
    this.r = new SplittableRandom(seed);
  }

  double wrong() {
    return wrong;
  }

  @Override
  public String toString() {
    return "script drafter (wrong " + wrong + ")";
  }

  @Override
  public Draft draft(UeSession s, int last, int k) {
    int d = s.model().getHiddenSize();
    int vocab = s.model().getVocabSize();
    long pos = s.position();
    int[] ids = new int[k + 1];
    int[] drafts = new int[k];
    float[] rows = new float[(k + 1) * d];
    ids[0] = last;
    for (int i = 0; i <= k; i++) {
      System.arraycopy(s.draftRow(ids[i]), 0, rows, i * d, d);
      if (i < k) {
        long at = pos + 1 + i;
        int t = at < truth.length ? truth[(int) at] : 3;
        drafts[i] = r.nextDouble() < wrong ? (t + 1 + r.nextInt(vocab - 1)) % vocab : t;
        ids[i + 1] = drafts[i];
      }
    }
    return new Draft(ids, rows, drafts);
  }

  /** The true next token (at position {@code s.position()}), or a wrong one as in drafts. */
  @Override
  public int guess(UeSession s, float[] lastRow) {
    int vocab = s.model().getVocabSize();
    long at = s.position();
    int t = at < truth.length ? truth[(int) at] : 3;
    return r.nextDouble() < wrong ? (t + 1 + r.nextInt(vocab - 1)) % vocab : t;
  }
}
