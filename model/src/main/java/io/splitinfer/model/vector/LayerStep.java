package io.splitinfer.model.vector;

import io.splitinfer.model.engine.ArrayKvCache;
import io.splitinfer.model.engine.ModelConfig;

/**
 * One layer of {@link VectorEngine} over a set of rows, each a new position in a KV cache: T
 * consecutive positions of one sequence ({@link #sequence}), or one position in each of several
 * sessions' caches (batched decode, {@link #batch}). The weight products run over all rows at once
 * (each block of four weight rows read from memory once); RoPE, the K/V append and attention are
 * per row, against the row's own cache. The RoPE angles are computed once per step; {@link #run} is
 * one layer (x updated in place). A row's result does not depend on the other rows.
 */
final class LayerStep {
  /** Rows per chunk of the pool: a multiple of {@link PackedMatrix#BLOCK}. */
  private static final int ROWS_PER_CHUNK = 32;

  private final ModelConfig c;
  private final RowPool pool;
  private final int rows;
  private final int[] pos;
  private final ArrayKvCache[] caches;
  private final float[] cos;
  private final float[] sin;

  private LayerStep(
      ModelConfig c, RowPool pool, ArrayKvCache[] caches, int[] pos, float[] invFreq) {
    this.c = c;
    this.pool = pool;
    this.rows = pos.length;
    this.pos = pos;
    this.caches = caches;
    int half = c.headDim() / 2;
    cos = new float[rows * half];
    sin = new float[rows * half];
    for (int r = 0; r < rows; r++) {
      float p = pos[r];
      for (int i = 0; i < half; i++) {
        float f = p * invFreq[i];
        cos[r * half + i] = (float) Math.cos(f);
        sin[r * half + i] = (float) Math.sin(f);
      }
    }
  }

  /** T new positions [start, start + T) of the sequence in {@code kv}. */
  static LayerStep sequence(
      ModelConfig c, RowPool pool, ArrayKvCache kv, int start, int tokens, float[] invFreq) {
    ArrayKvCache[] caches = new ArrayKvCache[tokens];
    int[] pos = new int[tokens];
    for (int t = 0; t < tokens; t++) {
      caches[t] = kv;
      pos[t] = start + t;
    }
    return new LayerStep(c, pool, caches, pos, invFreq);
  }

  /** One new position per row: row r at {@code pos[r]} in {@code caches[r]} (one per session). */
  static LayerStep batch(
      ModelConfig c, RowPool pool, ArrayKvCache[] caches, int[] pos, float[] invFreq) {
    return new LayerStep(c, pool, caches, pos, invFreq);
  }

  /** Layer {@code l}: x += attention(norm(x)); x += mlp(norm(x)); appends each row's K/V. */
  void run(VectorWeights.Layer w, int l, float[] x) {
    int d = c.hiddenSize();
    int hd = c.headDim();
    int nh = c.numHeads();
    int nkv = c.numKvHeads();
    int qkvDim = c.qDim() + 2 * c.kvDim();
    float[] h = new float[rows * d];
    for (int r = 0; r < rows; r++) {
      Kernels.rmsNorm(x, r * d, w.inputNorm(), c.rmsNormEps(), h, r * d, d);
    }
    float[] qkv = linear(h, w.qkv());
    for (int r = 0; r < rows; r++) {
      for (int head = 0; head < nh + nkv; head++) {
        Kernels.rope(qkv, r * qkvDim + head * hd, hd, cos, sin, r * (hd / 2));
      }
    }
    append(l, qkv, qkvDim);
    float[] attn = new float[rows * c.qDim()];
    int maxVisible = 0;
    for (int p : pos) {
      maxVisible = Math.max(maxVisible, p + 1);
    }
    int scoresLength = c.groupSize() * maxVisible;
    pool.forRange(
        rows * nkv,
        1,
        (a0, a1) -> {
          float[] scores = new float[scoresLength];
          for (int a = a0; a < a1; a++) {
            attend(a / nkv, a % nkv, l, qkv, qkvDim, attn, scores);
          }
        });
    float[] o = linear(attn, w.o());
    for (int r = 0; r < rows; r++) {
      for (int i = 0; i < d; i++) {
        x[r * d + i] += o[r * d + i];
      }
      Kernels.rmsNorm(x, r * d, w.postNorm(), c.rmsNormEps(), h, r * d, d);
    }
    int f = c.intermediateSize();
    float[] gateUp = linear(h, w.gateUp());
    float[] act = new float[rows * f];
    Kernels.swiglu(gateUp, rows, f, act);
    float[] down = linear(act, w.down());
    for (int i = 0; i < x.length; i++) {
      x[i] += down[i];
    }
  }

  /**
   * Appends the rows' keys and values (after RoPE) to their caches, one write per run of
   * consecutive rows in the same cache, as [kvHeads, T, headDim].
   */
  private void append(int l, float[] qkv, int qkvDim) {
    int hd = c.headDim();
    int nkv = c.numKvHeads();
    for (int r0 = 0; r0 < rows; ) {
      int r1 = r0 + 1;
      while (r1 < rows && caches[r1] == caches[r0] && pos[r1] == pos[r1 - 1] + 1) {
        r1++;
      }
      int n = r1 - r0;
      float[] k = new float[n * c.kvDim()];
      float[] v = new float[n * c.kvDim()];
      for (int t = 0; t < n; t++) {
        int row = (r0 + t) * qkvDim;
        for (int g = 0; g < nkv; g++) {
          System.arraycopy(qkv, row + c.qDim() + g * hd, k, (g * n + t) * hd, hd);
          System.arraycopy(qkv, row + c.qDim() + c.kvDim() + g * hd, v, (g * n + t) * hd, hd);
        }
      }
      caches[r0].put(l, pos[r0], n, k, 0, v, 0);
      r0 = r1;
    }
  }

  /**
   * Causal attention of row r over positions [0, pos[r]] of its cache for the query heads sharing
   * KV head g (grouped-query attention): each key and value row is read once for the whole group.
   */
  private void attend(int r, int g, int l, float[] qkv, int qkvDim, float[] attn, float[] scores) {
    ArrayKvCache kv = caches[r];
    float[] keys = kv.keyArray(l);
    float[] values = kv.valueArray(l);
    int cap = kv.capacity(l);
    int hd = c.headDim();
    int group = c.groupSize();
    int visible = pos[r] + 1;
    float invScale = (float) (1.0 / Math.sqrt(hd));
    int q0 = r * qkvDim + g * group * hd;
    float[] four = new float[4];
    int j = 0;
    for (; j + 4 <= visible; j += 4) {
      int ko = (g * cap + j) * hd; // positions j..j+3: four consecutive key rows
      for (int h = 0; h < group; h++) {
        AttentionKernels.dotRows4(qkv, q0 + h * hd, keys, ko, hd, four, 0);
        for (int t = 0; t < 4; t++) {
          scores[h * visible + j + t] = four[t] * invScale;
        }
      }
    }
    for (; j < visible; j++) {
      int ko = (g * cap + j) * hd;
      for (int h = 0; h < group; h++) {
        scores[h * visible + j] = Kernels.dot(qkv, q0 + h * hd, keys, ko, hd) * invScale;
      }
    }
    float[] inv = new float[group];
    for (int h = 0; h < group; h++) {
      float max = Float.NEGATIVE_INFINITY;
      for (int k = 0; k < visible; k++) {
        max = Math.max(max, scores[h * visible + k]);
      }
      inv[h] = (float) (1.0 / AttentionKernels.expShifted(scores, h * visible, visible, max));
    }
    int a0 = r * c.qDim() + g * group * hd;
    for (int h = 0; h < group; h++) {
      for (int k = 0; k < visible; k++) {
        scores[h * visible + k] *= inv[h];
      }
      AttentionKernels.weightedRows(
          scores, h * visible, visible, values, g * cap * hd, hd, attn, a0 + h * hd, hd);
    }
  }

  /** [rows, in] x W^T, W [out, in], blocks of W's rows spread over the pool. */
  private float[] linear(float[] in, PackedMatrix weights) {
    int out = weights.rows();
    float[] y = new float[rows * out];
    pool.forRange(out, ROWS_PER_CHUNK, (o0, o1) -> Kernels.linear(in, rows, weights, y, o0, o1));
    return y;
  }
}
