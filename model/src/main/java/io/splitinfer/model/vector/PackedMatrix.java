package io.splitinfer.model.vector;

import static io.splitinfer.model.vector.Kernels.S;

/**
 * A weight matrix [rows, cols] (Hugging Face [out, in]) laid out for {@link Kernels#linear}: the
 * rows in blocks of {@link #BLOCK}, each block interleaved in the order the kernel reads it, so one
 * pass over a block is one sequential read of memory.
 *
 * <p>Within a block of rows r..r+3, with L the vector length: for each chunk of 2L columns, the
 * chunk of row r, then of r+1, r+2, r+3; then, when cols % 2L >= L, one chunk of L columns of each
 * row; then the last cols % L columns of each row. Rows after the last whole block follow in plain
 * row order. Block b starts at b * BLOCK * cols, so row o of a whole block is found without a
 * table.
 *
 * <p>Why: a single-token product with one row at a time is bound by the latency of its two FMA
 * chains (one row is only cols / 2L iterations); four rows at once give eight independent chains
 * while the memory is still read front to back (reading four plain rows side by side breaks the
 * hardware prefetcher's streams, measured 2x slower from DRAM). Each row's sum is still formed in
 * {@link Kernels#dot}'s order, so the results are the same bits.
 */
final class PackedMatrix {
  /** Rows per block. */
  static final int BLOCK = 4;

  private final int rows;
  private final int cols;
  private final float[] data;

  private PackedMatrix(int rows, int cols, float[] data) {
    this.rows = rows;
    this.cols = cols;
    this.data = data;
  }

  /** Packs {@code w} [rows, cols] in row-major order (w itself is not kept). */
  static PackedMatrix pack(float[] w, int rows, int cols) {
    if (rows < 1 || cols < 1 || w.length != (long) rows * cols) {
      throw new IllegalArgumentException(
          "matrix of " + w.length + " floats is not " + rows + " x " + cols);
    }
    float[] p = new float[w.length];
    walk(rows, cols, (row, col, len, at) -> System.arraycopy(w, row * cols + col, p, at, len));
    return new PackedMatrix(rows, cols, p);
  }

  int rows() {
    return rows;
  }

  int cols() {
    return cols;
  }

  /** The packed floats (layout in the class doc). */
  float[] data() {
    return data;
  }

  /** Copies row {@code r} in plain order into dst[off .. off + cols) (an embedding lookup). */
  void copyRow(int r, float[] dst, int off) {
    if (r >= rows - rows % BLOCK) {
      System.arraycopy(data, r * cols, dst, off, cols);
      return;
    }
    int b = r - r % BLOCK;
    int lane = r % BLOCK;
    int at = b * cols;
    int l = S.length();
    int i = 0;
    for (; i + 2 * l <= cols; i += 2 * l, at += BLOCK * 2 * l) {
      System.arraycopy(data, at + lane * 2 * l, dst, off + i, 2 * l);
    }
    for (; i + l <= cols; i += l, at += BLOCK * l) {
      System.arraycopy(data, at + lane * l, dst, off + i, l);
    }
    int tail = cols - i;
    System.arraycopy(data, at + lane * tail, dst, off + i, tail);
  }

  /**
   * A run of {@code len} floats of row {@code row} from column {@code col}, stored at {@code at}.
   */
  private interface Run {
    void at(int row, int col, int len, int at);
  }

  /** Visits every run of the layout in storage order. */
  private static void walk(int rows, int cols, Run run) {
    int l = S.length();
    int at = 0;
    int whole = rows - rows % BLOCK;
    for (int b = 0; b < whole; b += BLOCK) {
      int i = 0;
      for (; i + 2 * l <= cols; i += 2 * l) {
        for (int r = 0; r < BLOCK; r++, at += 2 * l) {
          run.at(b + r, i, 2 * l, at);
        }
      }
      for (; i + l <= cols; i += l) {
        for (int r = 0; r < BLOCK; r++, at += l) {
          run.at(b + r, i, l, at);
        }
      }
      int tail = cols - i;
      for (int r = 0; r < BLOCK; r++, at += tail) {
        run.at(b + r, i, tail, at);
      }
    }
    for (int r = whole; r < rows; r++, at += cols) {
      run.at(r, 0, cols, at);
    }
  }
}
