package io.splitinfer.model.vector;

import io.splitinfer.model.engine.ArrayKvCache;
import io.splitinfer.model.engine.ModelConfig;

/**
 * One run of {@link VectorEngine}'s decoder layers over T new positions [start, start + T): the
 * RoPE angles are computed once for all layers; {@link #run} is one layer (x updated in place).
 */
final class LayerStep {
  private static final int ROWS_PER_CHUNK = 32;

  private final ModelConfig c;
  private final RowPool pool;
  private final int tokens;
  private final int start;
  private final float[] cos;
  private final float[] sin;

  LayerStep(ModelConfig c, RowPool pool, int tokens, int start, float[] invFreq) {
    this.c = c;
    this.pool = pool;
    this.tokens = tokens;
    this.start = start;
    int half = c.headDim() / 2;
    cos = new float[tokens * half];
    sin = new float[tokens * half];
    for (int t = 0; t < tokens; t++) {
      float pos = start + t;
      for (int i = 0; i < half; i++) {
        float f = pos * invFreq[i];
        cos[t * half + i] = (float) Math.cos(f);
        sin[t * half + i] = (float) Math.sin(f);
      }
    }
  }

  /** Layer {@code l}: x += attention(norm(x)); x += mlp(norm(x)); appends its K/V to the cache. */
  void run(VectorWeights.Layer w, int l, float[] x, ArrayKvCache kv) {
    int d = c.hiddenSize();
    int hd = c.headDim();
    int nh = c.numHeads();
    int nkv = c.numKvHeads();
    int qkvDim = c.qDim() + 2 * c.kvDim();
    float[] h = new float[tokens * d];
    for (int t = 0; t < tokens; t++) {
      Kernels.rmsNorm(x, t * d, w.inputNorm(), c.rmsNormEps(), h, t * d, d);
    }
    float[] qkv = linear(h, d, w.qkv(), qkvDim);
    // RoPE on q and k heads; K/V to the cache as [kvHeads, T, headDim]
    float[] kt = new float[tokens * c.kvDim()];
    float[] vt = new float[tokens * c.kvDim()];
    for (int t = 0; t < tokens; t++) {
      int row = t * qkvDim;
      int co = t * (hd / 2);
      for (int head = 0; head < nh + nkv; head++) {
        Kernels.rope(qkv, row + head * hd, hd, cos, sin, co);
      }
      for (int g = 0; g < nkv; g++) {
        System.arraycopy(qkv, row + c.qDim() + g * hd, kt, (g * tokens + t) * hd, hd);
        System.arraycopy(qkv, row + c.qDim() + c.kvDim() + g * hd, vt, (g * tokens + t) * hd, hd);
      }
    }
    kv.put(l, start, tokens, kt, 0, vt, 0);
    float[] attn = new float[tokens * c.qDim()];
    float[] keys = kv.keyArray(l);
    float[] values = kv.valueArray(l);
    int cap = kv.capacity(l);
    pool.forRange(
        tokens * nkv,
        1,
        (a0, a1) -> {
          float[] scores = new float[c.groupSize() * (start + tokens)];
          for (int a = a0; a < a1; a++) {
            attend(a / nkv, a % nkv, qkv, qkvDim, keys, values, cap, attn, scores);
          }
        });
    float[] o = linear(attn, c.qDim(), w.o(), d);
    for (int t = 0; t < tokens; t++) {
      for (int i = 0; i < d; i++) {
        x[t * d + i] += o[t * d + i];
      }
      Kernels.rmsNorm(x, t * d, w.postNorm(), c.rmsNormEps(), h, t * d, d);
    }
    int f = c.intermediateSize();
    float[] gateUp = linear(h, d, w.gateUp(), 2 * f);
    float[] act = new float[tokens * f];
    Kernels.swiglu(gateUp, tokens, f, act);
    float[] down = linear(act, f, w.down(), d);
    for (int i = 0; i < x.length; i++) {
      x[i] += down[i];
    }
  }

  /**
   * Causal attention at new position t over positions [0, start + t] for the query heads sharing KV
   * head g (grouped-query attention): each key and value row is read once for the whole group.
   */
  private void attend(
      int t,
      int g,
      float[] qkv,
      int qkvDim,
      float[] keys,
      float[] values,
      int cap,
      float[] attn,
      float[] scores) {
    int hd = c.headDim();
    int group = c.groupSize();
    int visible = start + t + 1;
    float invScale = (float) (1.0 / Math.sqrt(hd));
    int q0 = t * qkvDim + g * group * hd;
    for (int j = 0; j < visible; j++) {
      int ko = (g * cap + j) * hd;
      for (int h = 0; h < group; h++) {
        scores[h * visible + j] = Kernels.dot(qkv, q0 + h * hd, keys, ko, hd) * invScale;
      }
    }
    float[] inv = new float[group];
    for (int h = 0; h < group; h++) {
      float max = Float.NEGATIVE_INFINITY;
      for (int j = 0; j < visible; j++) {
        max = Math.max(max, scores[h * visible + j]);
      }
      inv[h] = (float) (1.0 / Kernels.expShifted(scores, h * visible, visible, max));
    }
    int a0 = t * c.qDim() + g * group * hd;
    for (int h = 0; h < group; h++) {
      for (int j = 0; j < visible; j++) {
        scores[h * visible + j] *= inv[h];
      }
      Kernels.weightedRows(
          scores, h * visible, visible, values, g * cap * hd, hd, attn, a0 + h * hd, hd);
    }
  }

  /** [T, in] x W^T, W [out, in], rows spread over the pool. */
  private float[] linear(float[] in, int inDim, float[] weights, int out) {
    float[] y = new float[tokens * out];
    pool.forRange(
        out,
        ROWS_PER_CHUNK,
        (o0, o1) -> Kernels.linearRows(in, tokens, inDim, weights, out, y, o0, o1));
    return y;
  }
}
