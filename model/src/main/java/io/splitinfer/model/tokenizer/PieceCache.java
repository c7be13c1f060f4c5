package io.splitinfer.model.tokenizer;

import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.IntFunction;

/**
 * {@link TextTokenizer#piece} with each id's piece decoded once: the edge puts the text of every
 * token it sends in the Token, and one native decode per token cost ~25-40 us of the split's
 * per-token path (scripts/hop-profile.sh, hop EDGE_SAMPLED -> EDGE_REPLY_BEGIN). Thread-safe; ids
 * outside the vocabulary are decoded every time (the tokenizer decides what they give).
 */
public final class PieceCache implements IntFunction<String> {
  private final TextTokenizer tokenizer;
  private final AtomicReferenceArray<String> pieces;

  public PieceCache(TextTokenizer tokenizer) {
    this.tokenizer = tokenizer;
    this.pieces = new AtomicReferenceArray<>(Math.max(0, tokenizer.vocabSize()));
  }

  @Override
  public String apply(int id) {
    if (id < 0 || id >= pieces.length()) {
      return tokenizer.piece(id);
    }
    String p = pieces.get(id);
    if (p == null) {
      p = tokenizer.piece(id);
      pieces.set(id, p);
    }
    return p;
  }
}
