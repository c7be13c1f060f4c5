package io.splitinfer.model.reference;

import java.util.stream.IntStream;

/** Float32 kernels of the reference engine (row-major arrays). */
final class Ops {
  private static final long PARALLEL_WORK = 1L << 16;

  private Ops() {}

  /**
   * y[T, out] = x[T, in] · W^T with W in Hugging Face [out, in] layout. Parallel over output rows
   * when the work is large enough.
   */
  static float[] linear(float[] x, int tokens, int in, float[] w, int out) {
    float[] y = new float[tokens * out];
    long work = (long) tokens * in * out;
    if (work < PARALLEL_WORK * 16) {
      linearRows(x, tokens, in, w, out, y, 0, out);
    } else {
      int chunk = Math.max(8, out / (4 * Runtime.getRuntime().availableProcessors()));
      int chunks = (out + chunk - 1) / chunk;
      IntStream.range(0, chunks)
          .parallel()
          .forEach(
              c -> linearRows(x, tokens, in, w, out, y, c * chunk, Math.min(out, (c + 1) * chunk)));
    }
    return y;
  }

  private static void linearRows(
      float[] x, int tokens, int in, float[] w, int out, float[] y, int o0, int o1) {
    for (int o = o0; o < o1; o++) {
      int wo = o * in;
      for (int t = 0; t < tokens; t++) {
        y[t * out + o] = dot(x, t * in, w, wo, in);
      }
    }
  }

  static float dot(float[] a, int ao, float[] b, int bo, int n) {
    float s0 = 0;
    float s1 = 0;
    float s2 = 0;
    float s3 = 0;
    int i = 0;
    for (; i + 3 < n; i += 4) {
      s0 += a[ao + i] * b[bo + i];
      s1 += a[ao + i + 1] * b[bo + i + 1];
      s2 += a[ao + i + 2] * b[bo + i + 2];
      s3 += a[ao + i + 3] * b[bo + i + 3];
    }
    for (; i < n; i++) {
      s0 += a[ao + i] * b[bo + i];
    }
    return (s0 + s1) + (s2 + s3);
  }

  /** RMSNorm per row, computed in float32 like HF: x * rsqrt(mean(x^2) + eps) * w. */
  static float[] rmsNorm(float[] x, int tokens, int d, float[] w, double eps) {
    float[] y = new float[x.length];
    for (int t = 0; t < tokens; t++) {
      double ss = 0;
      for (int i = 0; i < d; i++) {
        float v = x[t * d + i];
        ss += v * v;
      }
      float mean = (float) (ss / d);
      float r = (float) (1.0 / Math.sqrt(mean + (float) eps));
      for (int i = 0; i < d; i++) {
        y[t * d + i] = w[i] * (x[t * d + i] * r);
      }
    }
    return y;
  }

  /**
   * Rotates one head vector in place (rotate_half convention): for i < hd/2, (a, b) = (x[i],
   * x[i+hd/2]) -> (a cos - b sin, b cos + a sin).
   */
  static void rope(float[] x, int off, int headDim, float[] cos, float[] sin) {
    int half = headDim / 2;
    for (int i = 0; i < half; i++) {
      float a = x[off + i];
      float b = x[off + i + half];
      x[off + i] = a * cos[i] - b * sin[i];
      x[off + i + half] = b * cos[i] + a * sin[i];
    }
  }

  static float silu(float x) {
    return (float) (x / (1.0 + Math.exp(-x)));
  }
}
