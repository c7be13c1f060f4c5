package io.splitinfer.model.vector;

import static io.splitinfer.model.vector.Kernels.L;
import static io.splitinfer.model.vector.Kernels.S;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The kernels of attention over the KV cache ({@link LayerStep#attend}): the scores against four
 * consecutive key rows at once, the softmax's exponentials, and the weighted sum of value rows.
 * Like {@link Kernels}, every element has one fixed sequence of operations (each score is {@link
 * Kernels#dot}'s, each exponential {@link Kernels#exp}'s), so results do not depend on how many
 * rows a call runs.
 */
final class AttentionKernels {
  private AttentionKernels() {}

  /**
   * y[yo + r] = x[xo ..] · w[wo + r * n ..] for r = 0..3: one vector's dot products with four
   * consecutive rows of a plain matrix (attention's scores against four positions of the KV cache),
   * each summed in exactly {@link Kernels#dot}'s sequence, so the same bits, with eight independent
   * FMA chains instead of two.
   */
  static void dotRows4(float[] x, int xo, float[] w, int wo, int n, float[] y, int yo) {
    FloatVector a0 = FloatVector.zero(S);
    FloatVector a1 = FloatVector.zero(S);
    FloatVector b0 = FloatVector.zero(S);
    FloatVector b1 = FloatVector.zero(S);
    FloatVector c0 = FloatVector.zero(S);
    FloatVector c1 = FloatVector.zero(S);
    FloatVector d0 = FloatVector.zero(S);
    FloatVector d1 = FloatVector.zero(S);
    int w1 = wo + n;
    int w2 = wo + 2 * n;
    int w3 = wo + 3 * n;
    int i = 0;
    for (; i + 2 * L <= n; i += 2 * L) {
      FloatVector x0 = FloatVector.fromArray(S, x, xo + i);
      FloatVector x1 = FloatVector.fromArray(S, x, xo + i + L);
      a0 = x0.fma(FloatVector.fromArray(S, w, wo + i), a0);
      a1 = x1.fma(FloatVector.fromArray(S, w, wo + i + L), a1);
      b0 = x0.fma(FloatVector.fromArray(S, w, w1 + i), b0);
      b1 = x1.fma(FloatVector.fromArray(S, w, w1 + i + L), b1);
      c0 = x0.fma(FloatVector.fromArray(S, w, w2 + i), c0);
      c1 = x1.fma(FloatVector.fromArray(S, w, w2 + i + L), c1);
      d0 = x0.fma(FloatVector.fromArray(S, w, w3 + i), d0);
      d1 = x1.fma(FloatVector.fromArray(S, w, w3 + i + L), d1);
    }
    for (; i + L <= n; i += L) {
      FloatVector x0 = FloatVector.fromArray(S, x, xo + i);
      a0 = x0.fma(FloatVector.fromArray(S, w, wo + i), a0);
      b0 = x0.fma(FloatVector.fromArray(S, w, w1 + i), b0);
      c0 = x0.fma(FloatVector.fromArray(S, w, w2 + i), c0);
      d0 = x0.fma(FloatVector.fromArray(S, w, w3 + i), d0);
    }
    float sa = a0.add(a1).reduceLanes(VectorOperators.ADD);
    float sb = b0.add(b1).reduceLanes(VectorOperators.ADD);
    float sc = c0.add(c1).reduceLanes(VectorOperators.ADD);
    float sd = d0.add(d1).reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      float xi = x[xo + i];
      sa += xi * w[wo + i];
      sb += xi * w[w1 + i];
      sc += xi * w[w2 + i];
      sd += xi * w[w3 + i];
    }
    y[yo] = sa;
    y[yo + 1] = sb;
    y[yo + 2] = sc;
    y[yo + 3] = sd;
  }

  /**
   * out[oo + i] = sum over j in [0, n) of p[po + j] * v[vo + j * stride + i], for i in [0, width):
   * accumulated in registers over all j, four output vectors at a time (four independent FMA
   * chains), then one at a time, then scalar (attention's weighted sum of value rows; the order of
   * the sum is j = 0, 1, ... for every element, whichever way it is computed).
   */
  static void weightedRows(
      float[] p, int po, int n, float[] v, int vo, int stride, float[] out, int oo, int width) {
    int i = 0;
    for (; i + 4 * L <= width; i += 4 * L) {
      FloatVector a0 = FloatVector.zero(S);
      FloatVector a1 = FloatVector.zero(S);
      FloatVector a2 = FloatVector.zero(S);
      FloatVector a3 = FloatVector.zero(S);
      for (int j = 0; j < n; j++) {
        FloatVector pj = FloatVector.broadcast(S, p[po + j]);
        int at = vo + j * stride + i;
        a0 = FloatVector.fromArray(S, v, at).fma(pj, a0);
        a1 = FloatVector.fromArray(S, v, at + L).fma(pj, a1);
        a2 = FloatVector.fromArray(S, v, at + 2 * L).fma(pj, a2);
        a3 = FloatVector.fromArray(S, v, at + 3 * L).fma(pj, a3);
      }
      a0.intoArray(out, oo + i);
      a1.intoArray(out, oo + i + L);
      a2.intoArray(out, oo + i + 2 * L);
      a3.intoArray(out, oo + i + 3 * L);
    }
    for (; i + L <= width; i += L) {
      FloatVector acc = FloatVector.zero(S);
      for (int j = 0; j < n; j++) {
        acc =
            FloatVector.fromArray(S, v, vo + j * stride + i)
                .fma(FloatVector.broadcast(S, p[po + j]), acc);
      }
      acc.intoArray(out, oo + i);
    }
    for (; i < width; i++) {
      float acc = 0;
      for (int j = 0; j < n; j++) {
        acc = Math.fma(v[vo + j * stride + i], p[po + j], acc);
      }
      out[oo + i] = acc;
    }
  }

  /** x[o + i] = exp(x[o + i] - max) for i in [0, n); returns the sum (double). */
  static double expShifted(float[] x, int o, int n, float max) {
    double sum = 0;
    int i = 0;
    for (; i + L <= n; i += L) {
      FloatVector e = Kernels.exp(FloatVector.fromArray(S, x, o + i).sub(max));
      e.intoArray(x, o + i);
      sum += e.reduceLanes(VectorOperators.ADD);
    }
    for (; i < n; i++) {
      float e = Kernels.exp(x[o + i] - max);
      x[o + i] = e;
      sum += e;
    }
    return sum;
  }
}
