package io.splitinfer.model.engine;

/**
 * The one home of logit math shared by every path that turns logits into tokens or scores: the
 * edge's sampler and SCORE mode, the UE's monolithic baseline, perplexity (eq. 6) and the local
 * split runner. The "split == monolithic" guarantee rests on all of them using these methods, so
 * the tie rule and the arithmetic (double accumulation, max subtracted) exist exactly once here.
 *
 * <p>Tie rule: {@link #argmax} returns the <b>lowest index</b> among equal maxima (a strict {@code
 * >} scan from index 0; a NaN is never greater, inputs are checked finite upstream).
 */
public final class Logits {
  private Logits() {}

  /** Index (relative to {@code offset}) of the largest of {@code n} logits; lowest on ties. */
  public static int argmax(float[] logits, int offset, int n) {
    int best = 0;
    float bestValue = logits[offset];
    for (int i = 1; i < n; i++) {
      float v = logits[offset + i];
      if (v > bestValue) {
        bestValue = v;
        best = i;
      }
    }
    return best;
  }

  /** log(sum(exp(logits[offset .. offset + n)))), computed in double with the max subtracted. */
  public static double logSumExp(float[] logits, int offset, int n) {
    double max = max(logits, offset, n);
    return max + Math.log(sumExp(logits, offset, n, max));
  }

  /**
   * Natural log-softmax of {@code logits[offset + target]} over the row of {@code n} logits: {@code
   * x[target] - max - log(sum(exp(x - max)))}, in double.
   */
  public static double logProb(float[] logits, int offset, int n, int target) {
    double max = max(logits, offset, n);
    return logits[offset + target] - max - Math.log(sumExp(logits, offset, n, max));
  }

  /** The whole log-softmax row {@code logits[offset .. offset + n)}, same arithmetic. */
  public static double[] logSoftmax(float[] logits, int offset, int n) {
    double max = max(logits, offset, n);
    double log = Math.log(sumExp(logits, offset, n, max));
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = logits[offset + i] - max - log;
    }
    return out;
  }

  private static double max(float[] logits, int offset, int n) {
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < n; i++) {
      max = Math.max(max, logits[offset + i]);
    }
    return max;
  }

  private static double sumExp(float[] logits, int offset, int n, double max) {
    double sum = 0;
    for (int i = 0; i < n; i++) {
      sum += Math.exp(logits[offset + i] - max);
    }
    return sum;
  }
}
