package io.splitinfer.model.engine;

/** The embedding lookup of the Java engines: rows of a [vocab, d] table, ids checked. */
public final class Embeddings {
  private Embeddings() {}

  /** A table that copies its row {@code row} into dst[off .. off + d). */
  @FunctionalInterface
  public interface Rows {
    void copyRow(int row, float[] dst, int off);
  }

  /** Token ids -> their rows of {@code table} [vocab, d], as [T, d]. */
  public static float[] lookup(float[] table, ModelConfig config, int[] tokenIds) {
    int d = config.hiddenSize();
    return lookup(
        (row, dst, off) -> System.arraycopy(table, row * d, dst, off, d), config, tokenIds);
  }

  /** Token ids -> their rows of {@code table}, as [T, d]; ids outside the vocabulary refused. */
  public static float[] lookup(Rows table, ModelConfig config, int[] tokenIds) {
    int d = config.hiddenSize();
    float[] out = new float[tokenIds.length * d];
    for (int t = 0; t < tokenIds.length; t++) {
      int id = tokenIds[t];
      if (id < 0 || id >= config.vocabSize()) {
        throw new IllegalArgumentException(
            "token id " + id + " outside the vocabulary 0.." + (config.vocabSize() - 1));
      }
      table.copyRow(id, out, t * d);
    }
    return out;
  }
}
