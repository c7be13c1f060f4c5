package io.splitinfer.model.tokenizer;

/** Text <-> token ids of one model. Never adds special tokens on its own. */
public interface TextTokenizer extends AutoCloseable {
  /** Token ids of {@code text}, without special tokens (no BOS/EOS added). */
  int[] encode(String text);

  /** Text of a sequence of ids (special tokens are skipped). */
  String decode(int[] ids);

  /**
   * The text piece of one token as decoding it alone gives (a byte-level token that is part of a
   * multi-byte character decodes to U+FFFD). For streaming, decode growing prefixes instead.
   */
  default String piece(int id) {
    return decode(new int[] {id});
  }

  /** Tokens in the vocabulary. */
  int vocabSize();

  @Override
  void close();
}
