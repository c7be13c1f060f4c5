package io.splitinfer.model.vector;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SIMD kernels of {@link VectorEngine} (JDK Vector API, 8 float lanes on x86). Every kernel
 * computes an output element with one fixed sequence of operations whatever the row range, chunk or
 * number of tokens in the call, so results do not depend on threads or batching.
 */
final class Kernels {
  /**
   * 256-bit vectors where the CPU has them (AVX2 and AVX-512 then give the same bits: the lane
   * count fixes the order of each sum; 512 bits measured no faster here), else the CPU's own
   * (128-bit on NEON).
   */
  static final VectorSpecies<Float> S =
      FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256
          ? FloatVector.SPECIES_256
          : FloatVector.SPECIES_PREFERRED;

  private static final int L = S.length();

  private Kernels() {}

  /**
   * a[ao..ao+n) · b[bo..bo+n): two vector accumulators over pairs of vectors, the first over a last
   * whole vector, then the scalar tail. {@link #dot4} repeats this sequence exactly.
   */
  static float dot(float[] a, int ao, float[] b, int bo, int n) {
    FloatVector s0 = FloatVector.zero(S);
    FloatVector s1 = FloatVector.zero(S);
    int i = 0;
    for (; i + 2 * L <= n; i += 2 * L) {
      s0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), s0);
      s1 = FloatVector.fromArray(S, a, ao + i + L).fma(FloatVector.fromArray(S, b, bo + i + L), s1);
    }
    for (; i + L <= n; i += L) {
      s0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), s0);
    }
    float s = s0.add(s1).reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      s += a[ao + i] * b[bo + i];
    }
    return s;
  }

  /**
   * Four tokens' dot products with one weight row, each weight vector loaded once: y[yo + k * out]
   * = x[xo + k * n ..] · w[wo ..] for k = 0..3, each bit-identical to {@link #dot} (same operations
   * in the same order per token), so a speculative round's rows equal single decode steps.
   */
  static void dot4(float[] x, int xo, float[] w, int wo, int n, float[] y, int yo, int out) {
    FloatVector a0 = FloatVector.zero(S);
    FloatVector a1 = FloatVector.zero(S);
    FloatVector b0 = FloatVector.zero(S);
    FloatVector b1 = FloatVector.zero(S);
    FloatVector c0 = FloatVector.zero(S);
    FloatVector c1 = FloatVector.zero(S);
    FloatVector d0 = FloatVector.zero(S);
    FloatVector d1 = FloatVector.zero(S);
    int x1 = xo + n;
    int x2 = xo + 2 * n;
    int x3 = xo + 3 * n;
    int i = 0;
    for (; i + 2 * L <= n; i += 2 * L) {
      FloatVector w0 = FloatVector.fromArray(S, w, wo + i);
      FloatVector w1 = FloatVector.fromArray(S, w, wo + i + L);
      a0 = FloatVector.fromArray(S, x, xo + i).fma(w0, a0);
      a1 = FloatVector.fromArray(S, x, xo + i + L).fma(w1, a1);
      b0 = FloatVector.fromArray(S, x, x1 + i).fma(w0, b0);
      b1 = FloatVector.fromArray(S, x, x1 + i + L).fma(w1, b1);
      c0 = FloatVector.fromArray(S, x, x2 + i).fma(w0, c0);
      c1 = FloatVector.fromArray(S, x, x2 + i + L).fma(w1, c1);
      d0 = FloatVector.fromArray(S, x, x3 + i).fma(w0, d0);
      d1 = FloatVector.fromArray(S, x, x3 + i + L).fma(w1, d1);
    }
    for (; i + L <= n; i += L) {
      FloatVector w0 = FloatVector.fromArray(S, w, wo + i);
      a0 = FloatVector.fromArray(S, x, xo + i).fma(w0, a0);
      b0 = FloatVector.fromArray(S, x, x1 + i).fma(w0, b0);
      c0 = FloatVector.fromArray(S, x, x2 + i).fma(w0, c0);
      d0 = FloatVector.fromArray(S, x, x3 + i).fma(w0, d0);
    }
    float sa = a0.add(a1).reduceLanes(VectorOperators.ADD);
    float sb = b0.add(b1).reduceLanes(VectorOperators.ADD);
    float sc = c0.add(c1).reduceLanes(VectorOperators.ADD);
    float sd = d0.add(d1).reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      float wi = w[wo + i];
      sa += x[xo + i] * wi;
      sb += x[x1 + i] * wi;
      sc += x[x2 + i] * wi;
      sd += x[x3 + i] * wi;
    }
    y[yo] = sa;
    y[yo + out] = sb;
    y[yo + 2 * out] = sc;
    y[yo + 3 * out] = sd;
  }

  /**
   * y[t, o] = x[t, :] · W[o, :] for rows o in [o0, o1) and all tokens (W in Hugging Face [out, in]
   * layout); each weight row is read once per four tokens.
   */
  static void linearRows(
      float[] x, int tokens, int in, float[] w, int out, float[] y, int o0, int o1) {
    for (int o = o0; o < o1; o++) {
      int wo = o * in;
      int t = 0;
      for (; t + 4 <= tokens; t += 4) {
        dot4(x, t * in, w, wo, in, y, t * out + o, out);
      }
      for (; t < tokens; t++) {
        y[t * out + o] = dot(x, t * in, w, wo, in);
      }
    }
  }

  /**
   * out[oo + i] = sum over j in [0, n) of p[po + j] * v[vo + j * stride + i], for i in [0, width):
   * one vector of the output at a time, accumulated in a register over all j (attention's weighted
   * sum of value rows; the order of the sum is j = 0, 1, ... for every element).
   */
  static void weightedRows(
      float[] p, int po, int n, float[] v, int vo, int stride, float[] out, int oo, int width) {
    int i = 0;
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

  // exp: Cephes' expf (2^n by the exponent bits, a degree-5 polynomial on [-ln2/2, ln2/2]) from
  // adds, multiplies and fused multiply-adds only, vector and scalar alike: the Vector API's own
  // EXP
  // gives other last bits once compiled than when interpreted, and results must not depend on how
  // warm the JIT is (a split's two processes never are equally warm). Within 2 ulp of Math.exp.
  private static final float EXP_LO = -87.0f;
  private static final float EXP_HI = 88.0f;
  private static final float LOG2E = 1.44269504088896341f;
  private static final float ROUND = 12582912f; // 1.5 * 2^23: adding it rounds to an integer
  private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);
  private static final float LN2_HI = 0.693359375f;
  private static final float LN2_LO = -2.12194440e-4f;
  private static final float[] EXP_POLY = {
    1.9875691500e-4f,
    1.3981999507e-3f,
    8.3334519073e-3f,
    4.1665795894e-2f,
    1.6666665459e-1f,
    5.0000001201e-1f
  };

  /** exp of each lane (inputs clamped to [-87, 88]). */
  static FloatVector exp(FloatVector x) {
    x = x.max(EXP_LO).min(EXP_HI);
    FloatVector t = x.fma(LOG2E, ROUND);
    FloatVector n = t.sub(ROUND);
    FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), x);
    r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
    FloatVector p = FloatVector.broadcast(S, EXP_POLY[0]);
    for (int i = 1; i < EXP_POLY.length; i++) {
      p = p.fma(r, FloatVector.broadcast(S, EXP_POLY[i]));
    }
    FloatVector y = p.fma(r.mul(r), r).add(1f);
    FloatVector scale =
        t.reinterpretAsInts()
            .sub(ROUND_BITS - 127)
            .lanewise(VectorOperators.LSHL, 23)
            .reinterpretAsFloats();
    return y.mul(scale);
  }

  /** exp of one value: the same operations as one lane of {@link #exp(FloatVector)}. */
  static float exp(float x) {
    x = Math.min(Math.max(x, EXP_LO), EXP_HI);
    float t = Math.fma(x, LOG2E, ROUND);
    float n = t - ROUND;
    float r = Math.fma(n, -LN2_HI, x);
    r = Math.fma(n, -LN2_LO, r);
    float p = EXP_POLY[0];
    for (int i = 1; i < EXP_POLY.length; i++) {
      p = Math.fma(p, r, EXP_POLY[i]);
    }
    float y = Math.fma(p, r * r, r) + 1f;
    float scale = Float.intBitsToFloat((Float.floatToRawIntBits(t) - (ROUND_BITS - 127)) << 23);
    return y * scale;
  }

  /** x[o + i] = exp(x[o + i] - max) for i in [0, n); returns the sum (double). */
  static double expShifted(float[] x, int o, int n, float max) {
    double sum = 0;
    int i = 0;
    for (; i + L <= n; i += L) {
      FloatVector e = exp(FloatVector.fromArray(S, x, o + i).sub(max));
      e.intoArray(x, o + i);
      sum += e.reduceLanes(VectorOperators.ADD);
    }
    for (; i < n; i++) {
      float e = exp(x[o + i] - max);
      x[o + i] = e;
      sum += e;
    }
    return sum;
  }

  /** RMSNorm of one row: y = w * (x * 1/sqrt(mean(x^2) + eps)), in float32 like Hugging Face. */
  static void rmsNorm(float[] x, int xo, float[] w, double eps, float[] y, int yo, int d) {
    float ss = dot(x, xo, x, xo, d);
    float r = (float) (1.0 / Math.sqrt(ss / d + (float) eps));
    FloatVector rv = FloatVector.broadcast(S, r);
    int i = 0;
    for (; i + L <= d; i += L) {
      FloatVector.fromArray(S, x, xo + i)
          .mul(rv)
          .mul(FloatVector.fromArray(S, w, i))
          .intoArray(y, yo + i);
    }
    for (; i < d; i++) {
      y[yo + i] = w[i] * (x[xo + i] * r);
    }
  }

  /**
   * SwiGLU on a [T, 2f] gate|up product: out[t, i] = silu(gate[t, i]) * up[t, i], silu(g) = g / (1
   * + exp(-g)).
   */
  static void swiglu(float[] gateUp, int tokens, int f, float[] out) {
    for (int t = 0; t < tokens; t++) {
      int go = t * 2 * f;
      int uo = go + f;
      int oo = t * f;
      int i = 0;
      for (; i + L <= f; i += L) {
        FloatVector g = FloatVector.fromArray(S, gateUp, go + i);
        FloatVector u = FloatVector.fromArray(S, gateUp, uo + i);
        g.div(exp(g.neg()).add(1f)).mul(u).intoArray(out, oo + i);
      }
      for (; i < f; i++) {
        float g = gateUp[go + i];
        out[oo + i] = g / (exp(-g) + 1f) * gateUp[uo + i];
      }
    }
  }

  /** Rotates one head vector in place (rotate_half): (a, b) -> (a cos - b sin, b cos + a sin). */
  static void rope(float[] x, int off, int headDim, float[] cos, float[] sin, int co) {
    int half = headDim / 2;
    for (int i = 0; i < half; i++) {
      float a = x[off + i];
      float b = x[off + i + half];
      x[off + i] = a * cos[co + i] - b * sin[co + i];
      x[off + i + half] = b * cos[co + i] + a * sin[co + i];
    }
  }
}
