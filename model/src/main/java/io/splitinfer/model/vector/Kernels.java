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

  /** a[ao..ao+n) · b[bo..bo+n): four vector accumulators, then one, then scalars. */
  static float dot(float[] a, int ao, float[] b, int bo, int n) {
    FloatVector s0 = FloatVector.zero(S);
    FloatVector s1 = FloatVector.zero(S);
    FloatVector s2 = FloatVector.zero(S);
    FloatVector s3 = FloatVector.zero(S);
    int i = 0;
    for (; i + 4 * L <= n; i += 4 * L) {
      s0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), s0);
      s1 = FloatVector.fromArray(S, a, ao + i + L).fma(FloatVector.fromArray(S, b, bo + i + L), s1);
      s2 =
          FloatVector.fromArray(S, a, ao + i + 2 * L)
              .fma(FloatVector.fromArray(S, b, bo + i + 2 * L), s2);
      s3 =
          FloatVector.fromArray(S, a, ao + i + 3 * L)
              .fma(FloatVector.fromArray(S, b, bo + i + 3 * L), s3);
    }
    for (; i + L <= n; i += L) {
      s0 = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), s0);
    }
    float s = s0.add(s1).add(s2.add(s3)).reduceLanes(VectorOperators.ADD);
    for (; i < n; i++) {
      s += a[ao + i] * b[bo + i];
    }
    return s;
  }

  /**
   * y[t, o] = x[t, :] · W[o, :] for rows o in [o0, o1) and all tokens (W in Hugging Face [out, in]
   * layout); each weight row is read once per call.
   */
  static void linearRows(
      float[] x, int tokens, int in, float[] w, int out, float[] y, int o0, int o1) {
    for (int o = o0; o < o1; o++) {
      int wo = o * in;
      for (int t = 0; t < tokens; t++) {
        y[t * out + o] = dot(x, t * in, w, wo, in);
      }
    }
  }

  /** y[i] += a * x[i] over [0, n) from the given offsets. */
  static void axpy(float a, float[] x, int xo, float[] y, int yo, int n) {
    FloatVector av = FloatVector.broadcast(S, a);
    int i = 0;
    for (; i + L <= n; i += L) {
      FloatVector.fromArray(S, x, xo + i)
          .fma(av, FloatVector.fromArray(S, y, yo + i))
          .intoArray(y, yo + i);
    }
    for (; i < n; i++) {
      y[yo + i] += a * x[xo + i];
    }
  }

  /**
   * x[o + i] = exp(x[o + i] - max) for i in [0, n); returns the sum (double). Scalar {@link
   * Math#exp}: the Vector API's EXP gives other last bits once compiled than when interpreted, and
   * results must not depend on how warm the JIT is (a split's two processes never are equally
   * warm).
   */
  static double expShifted(float[] x, int o, int n, float max) {
    double sum = 0;
    for (int i = 0; i < n; i++) {
      float e = (float) Math.exp(x[o + i] - max);
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
      for (int i = 0; i < f; i++) {
        float g = gateUp[go + i];
        out[oo + i] = (float) (g / (1.0 + Math.exp(-g))) * gateUp[uo + i];
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
