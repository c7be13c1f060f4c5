package io.splitinfer.ue;

import io.splitinfer.model.draft.NgramTable;
import io.splitinfer.model.engine.InferenceEngine;
import java.util.Arrays;

/**
 * Prompt-lookup drafting with the early exit as fallback: each draft is the token that followed the
 * most recent earlier occurrence of the sequence's last {@code n} tokens (n = {@link #MAX_NGRAM}
 * down to {@link #MIN_NGRAM}) in the prompt, the tokens received and the drafts so far; where there
 * is none, the token an {@link NgramTable} (a small n-gram draft model trained on the model's
 * training text) gives for the sequence, when there is one; then the early exit's greedy token
 * ({@link EarlyExitDrafter}). Lookup and table drafts cost no head call, and their rows run in one
 * call of layers 1..p; early-exit drafts run row by row as they are made.
 */
public final class LookupDrafter implements Drafter {
  static final int MAX_NGRAM = 3;
  static final int MIN_NGRAM = 2;

  private final InferenceEngine engine;
  private final NgramTable table;

  public LookupDrafter(InferenceEngine engine) {
    this(engine, null);
  }

  /** With {@code table} (null: none) after the lookup; its vocabulary must be the model's. */
  public LookupDrafter(InferenceEngine engine, NgramTable table) {
    if (table != null && table.vocabSize() != engine.config().vocabSize()) {
      throw new IllegalArgumentException(
          "the n-gram draft table is for a vocabulary of "
              + table.vocabSize()
              + " tokens, the model has "
              + engine.config().vocabSize());
    }
    this.engine = engine;
    this.table = table;
  }

  @Override
  public Draft draft(UeSession s, int last, int k) {
    return draft(s, last, k, 0);
  }

  /**
   * The chance that a draft is accepted is estimated as the table entry's share ({@link
   * NgramTable#share}: calibrated for a distilled table, model/training/README.md) where the draft
   * is the table's token, else {@link #OTHER_CHANCE}; drafting stops once the product over the
   * round's drafts falls below {@code minChance}.
   */
  @Override
  public Draft draft(UeSession s, int last, int k, double minChance) {
    int d = engine.config().hiddenSize();
    int[] sent = s.sentTokens();
    int[] seq = Arrays.copyOf(sent, sent.length + k + 1);
    int len = sent.length;
    seq[len++] = last;
    int[] ids = new int[k + 1];
    ids[0] = last;
    // Drafts by lookup (then the table) as far as they go (token ids only, no rows needed)...
    int n = 0;
    double chance = 1;
    boolean cut = false;
    for (; n < k; n++) {
      int next = lookupOrTable(seq, len);
      if (next < 0) {
        break;
      }
      double c = chance * chance(seq, len, next);
      if (n > 0 && c < minChance) {
        cut = true; // the estimate ends the round here: no early exit after it either
        break;
      }
      chance = c;
      ids[n + 1] = next;
      seq[len++] = next;
    }
    // ... whose rows then run in one call; then, where lookup and table ran dry, row by row with
    // the
    // early exit's head while the estimate allows.
    int hits = n;
    float[] rows = new float[(k + 1) * d];
    float[] h = s.draftRows(Arrays.copyOf(ids, hits + 1));
    System.arraycopy(h, 0, rows, 0, h.length);
    h = Arrays.copyOfRange(h, hits * d, (hits + 1) * d);
    for (; !cut && n < k && (n == 0 || chance * OTHER_CHANCE >= minChance); n++) {
      chance *= OTHER_CHANCE;
      ids[n + 1] = EarlyExitDrafter.next(engine, h);
      h = s.draftRow(ids[n + 1]);
      System.arraycopy(h, 0, rows, (n + 1) * d, d);
    }
    return new Draft(
        Arrays.copyOf(ids, n + 1),
        Arrays.copyOf(rows, (n + 1) * d),
        Arrays.copyOfRange(ids, 1, n + 1));
  }

  @Override
  public int guess(UeSession s, float[] lastRow) {
    int[] sent = s.sentTokens();
    int next = lookupOrTable(sent, sent.length);
    return next >= 0 ? next : EarlyExitDrafter.next(engine, lastRow);
  }

  /**
   * The chance assumed for a draft that is not the table's token (prompt lookup against the table,
   * the early exit), which has no share of its own: a fixed even chance, not a measured one.
   */
  static final double OTHER_CHANCE = 0.5;

  private double chance(int[] seq, int len, int draft) {
    return table != null && table.next(seq, len) == draft ? table.share(seq, len) : OTHER_CHANCE;
  }

  /** The token after seq[0, len) by prompt lookup, else by the table (if any), else -1. */
  private int lookupOrTable(int[] seq, int len) {
    int next = lookup(seq, len);
    return next < 0 && table != null ? table.next(seq, len) : next;
  }

  /** The token after the latest earlier match of seq's last n tokens (longest n first), or -1. */
  static int lookup(int[] seq, int len) {
    for (int n = MAX_NGRAM; n >= MIN_NGRAM; n--) {
      if (len <= n) {
        continue;
      }
      for (int j = len - n - 1; j >= 0; j--) {
        boolean match = true;
        for (int t = 0; t < n && match; t++) {
          match = seq[j + t] == seq[len - n + t];
        }
        if (match) {
          return seq[j + n];
        }
      }
    }
    return -1;
  }
}
