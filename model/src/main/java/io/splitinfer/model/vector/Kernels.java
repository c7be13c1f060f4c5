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

  static final int L = S.length();

  private Kernels() {}

  /**
   * a[ao..ao+n) · b[bo..bo+n): two vector accumulators over pairs of vectors, the first over a last
   * whole vector, then the scalar tail. {@link #dotBlock} repeats this sequence exactly.
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
   * One token's dot products with the four rows of a {@link PackedMatrix} block at {@code po}: y[yo
   * + r] = x[xo ..] · row r, for r = 0..3. Each row is summed in exactly {@link #dot}'s sequence
   * (two vector accumulators over pairs of vectors, one over a last whole vector, the reduction,
   * then the scalar tail), so the result is the same bits; the four rows give eight independent FMA
   * chains, and the block is read front to back.
   */
  static void dotBlock(float[] x, int xo, float[] p, int po, int n, float[] y, int yo) {
    FloatVector a0 = FloatVector.zero(S);
    FloatVector a1 = FloatVector.zero(S);
    FloatVector b0 = FloatVector.zero(S);
    FloatVector b1 = FloatVector.zero(S);
    FloatVector c0 = FloatVector.zero(S);
    FloatVector c1 = FloatVector.zero(S);
    FloatVector d0 = FloatVector.zero(S);
    FloatVector d1 = FloatVector.zero(S);
    int i = 0;
    int k = po;
    for (; i + 2 * L <= n; i += 2 * L, k += 8 * L) {
      FloatVector x0 = FloatVector.fromArray(S, x, xo + i);
      FloatVector x1 = FloatVector.fromArray(S, x, xo + i + L);
      a0 = FloatVector.fromArray(S, p, k).fma(x0, a0);
      a1 = FloatVector.fromArray(S, p, k + L).fma(x1, a1);
      b0 = FloatVector.fromArray(S, p, k + 2 * L).fma(x0, b0);
      b1 = FloatVector.fromArray(S, p, k + 3 * L).fma(x1, b1);
      c0 = FloatVector.fromArray(S, p, k + 4 * L).fma(x0, c0);
      c1 = FloatVector.fromArray(S, p, k + 5 * L).fma(x1, c1);
      d0 = FloatVector.fromArray(S, p, k + 6 * L).fma(x0, d0);
      d1 = FloatVector.fromArray(S, p, k + 7 * L).fma(x1, d1);
    }
    for (; i + L <= n; i += L, k += 4 * L) {
      FloatVector x0 = FloatVector.fromArray(S, x, xo + i);
      a0 = FloatVector.fromArray(S, p, k).fma(x0, a0);
      b0 = FloatVector.fromArray(S, p, k + L).fma(x0, b0);
      c0 = FloatVector.fromArray(S, p, k + 2 * L).fma(x0, c0);
      d0 = FloatVector.fromArray(S, p, k + 3 * L).fma(x0, d0);
    }
    float sa = a0.add(a1).reduceLanes(VectorOperators.ADD);
    float sb = b0.add(b1).reduceLanes(VectorOperators.ADD);
    float sc = c0.add(c1).reduceLanes(VectorOperators.ADD);
    float sd = d0.add(d1).reduceLanes(VectorOperators.ADD);
    int tail = n - i;
    for (int j = 0; j < tail; j++) {
      float xj = x[xo + i + j];
      sa += p[k + j] * xj;
      sb += p[k + tail + j] * xj;
      sc += p[k + 2 * tail + j] * xj;
      sd += p[k + 3 * tail + j] * xj;
    }
    y[yo] = sa;
    y[yo + 1] = sb;
    y[yo + 2] = sc;
    y[yo + 3] = sd;
  }

  /**
   * Two tokens' dot products with the four rows of a {@link PackedMatrix} block at {@code po}: y[ya
   * + r] = x[xa ..] · row r and y[yb + r] = x[xb ..] · row r, for r = 0..3, each summed in exactly
   * {@link #dot}'s sequence (as {@link #dotBlock}); every weight vector loaded serves both tokens.
   */
  static void dotBlock2(
      float[] x, int xa, int xb, float[] p, int po, int n, float[] y, int ya, int yb) {
    FloatVector a0 = FloatVector.zero(S);
    FloatVector a1 = FloatVector.zero(S);
    FloatVector b0 = FloatVector.zero(S);
    FloatVector b1 = FloatVector.zero(S);
    FloatVector c0 = FloatVector.zero(S);
    FloatVector c1 = FloatVector.zero(S);
    FloatVector d0 = FloatVector.zero(S);
    FloatVector d1 = FloatVector.zero(S);
    FloatVector e0 = FloatVector.zero(S);
    FloatVector e1 = FloatVector.zero(S);
    FloatVector f0 = FloatVector.zero(S);
    FloatVector f1 = FloatVector.zero(S);
    FloatVector g0 = FloatVector.zero(S);
    FloatVector g1 = FloatVector.zero(S);
    FloatVector h0 = FloatVector.zero(S);
    FloatVector h1 = FloatVector.zero(S);
    int i = 0;
    int k = po;
    for (; i + 2 * L <= n; i += 2 * L, k += 8 * L) {
      FloatVector u0 = FloatVector.fromArray(S, x, xa + i);
      FloatVector u1 = FloatVector.fromArray(S, x, xa + i + L);
      FloatVector v0 = FloatVector.fromArray(S, x, xb + i);
      FloatVector v1 = FloatVector.fromArray(S, x, xb + i + L);
      FloatVector w = FloatVector.fromArray(S, p, k);
      a0 = w.fma(u0, a0);
      e0 = w.fma(v0, e0);
      w = FloatVector.fromArray(S, p, k + L);
      a1 = w.fma(u1, a1);
      e1 = w.fma(v1, e1);
      w = FloatVector.fromArray(S, p, k + 2 * L);
      b0 = w.fma(u0, b0);
      f0 = w.fma(v0, f0);
      w = FloatVector.fromArray(S, p, k + 3 * L);
      b1 = w.fma(u1, b1);
      f1 = w.fma(v1, f1);
      w = FloatVector.fromArray(S, p, k + 4 * L);
      c0 = w.fma(u0, c0);
      g0 = w.fma(v0, g0);
      w = FloatVector.fromArray(S, p, k + 5 * L);
      c1 = w.fma(u1, c1);
      g1 = w.fma(v1, g1);
      w = FloatVector.fromArray(S, p, k + 6 * L);
      d0 = w.fma(u0, d0);
      h0 = w.fma(v0, h0);
      w = FloatVector.fromArray(S, p, k + 7 * L);
      d1 = w.fma(u1, d1);
      h1 = w.fma(v1, h1);
    }
    for (; i + L <= n; i += L, k += 4 * L) {
      FloatVector u0 = FloatVector.fromArray(S, x, xa + i);
      FloatVector v0 = FloatVector.fromArray(S, x, xb + i);
      FloatVector w = FloatVector.fromArray(S, p, k);
      a0 = w.fma(u0, a0);
      e0 = w.fma(v0, e0);
      w = FloatVector.fromArray(S, p, k + L);
      b0 = w.fma(u0, b0);
      f0 = w.fma(v0, f0);
      w = FloatVector.fromArray(S, p, k + 2 * L);
      c0 = w.fma(u0, c0);
      g0 = w.fma(v0, g0);
      w = FloatVector.fromArray(S, p, k + 3 * L);
      d0 = w.fma(u0, d0);
      h0 = w.fma(v0, h0);
    }
    float sa = a0.add(a1).reduceLanes(VectorOperators.ADD);
    float sb = b0.add(b1).reduceLanes(VectorOperators.ADD);
    float sc = c0.add(c1).reduceLanes(VectorOperators.ADD);
    float sd = d0.add(d1).reduceLanes(VectorOperators.ADD);
    float se = e0.add(e1).reduceLanes(VectorOperators.ADD);
    float sf = f0.add(f1).reduceLanes(VectorOperators.ADD);
    float sg = g0.add(g1).reduceLanes(VectorOperators.ADD);
    float sh = h0.add(h1).reduceLanes(VectorOperators.ADD);
    int tail = n - i;
    for (int j = 0; j < tail; j++) {
      float uj = x[xa + i + j];
      float vj = x[xb + i + j];
      sa += p[k + j] * uj;
      sb += p[k + tail + j] * uj;
      sc += p[k + 2 * tail + j] * uj;
      sd += p[k + 3 * tail + j] * uj;
      se += p[k + j] * vj;
      sf += p[k + tail + j] * vj;
      sg += p[k + 2 * tail + j] * vj;
      sh += p[k + 3 * tail + j] * vj;
    }
    y[ya] = sa;
    y[ya + 1] = sb;
    y[ya + 2] = sc;
    y[ya + 3] = sd;
    y[yb] = se;
    y[yb + 1] = sf;
    y[yb + 2] = sg;
    y[yb + 3] = sh;
  }

  /**
   * y[t, o] = x[t, :] · W[o, :] for rows o in [o0, o1) and all tokens; o0 is a multiple of {@link
   * PackedMatrix#BLOCK} or past the last whole block. Two tokens at a time per block ({@link
   * #dotBlock2}; an odd last one alone), so a block (4 rows) is read from memory once and each
   * weight vector loaded serves two tokens.
   */
  static void linear(float[] x, int tokens, PackedMatrix w, float[] y, int o0, int o1) {
    int in = w.cols();
    int out = w.rows();
    float[] p = w.data();
    int whole = Math.min(o1, out - out % PackedMatrix.BLOCK);
    if (o0 < whole && o0 % PackedMatrix.BLOCK != 0) {
      throw new IllegalArgumentException("row range starts at " + o0 + ", inside a block");
    }
    int o = o0;
    for (; o + PackedMatrix.BLOCK <= whole; o += PackedMatrix.BLOCK) {
      int t = 0;
      for (; t + 2 <= tokens; t += 2) {
        dotBlock2(x, t * in, (t + 1) * in, p, o * in, in, y, t * out + o, (t + 1) * out + o);
      }
      if (t < tokens) {
        dotBlock(x, t * in, p, o * in, in, y, t * out + o);
      }
    }
    for (; o < o1; o++) {
      for (int t = 0; t < tokens; t++) {
        y[t * out + o] = dot(x, t * in, p, o * in, in);
      }
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
