package io.splitinfer.core.channel;

/**
 * The Wilson score interval for a binomial proportion: k successes in n trials (n may be an
 * effective, non-integer count, as for exponentially weighted counts). With z = 1.96 it is the 95 %
 * interval the estimator-accuracy test and the controller's loss hysteresis use:
 *
 * <p>centre = (p̂ + z²/(2n)) / (1 + z²/n), half-width = z √(p̂(1 − p̂)/n + z²/(4n²)) / (1 + z²/n).
 *
 * @param low lower bound (≥ 0)
 * @param high upper bound (≤ 1)
 */
public record BinomialInterval(double low, double high) {
  /** z for a two-sided 95 % interval. */
  public static final double Z95 = 1.959964;

  /** The 95 % Wilson interval of k in n ([0, 1] when n is 0). */
  public static BinomialInterval wilson95(double k, double n) {
    return wilson(k, n, Z95);
  }

  public static BinomialInterval wilson(double k, double n, double z) {
    if (!(n >= 0) || !(k >= 0) || k > n + 1e-9) {
      throw new IllegalArgumentException("need 0 <= k <= n, got k=" + k + " n=" + n);
    }
    if (n == 0) {
      return new BinomialInterval(0, 1);
    }
    double p = Math.min(1, k / n);
    double z2 = z * z;
    double denom = 1 + z2 / n;
    double centre = (p + z2 / (2 * n)) / denom;
    double half = z * Math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom;
    return new BinomialInterval(Math.max(0, centre - half), Math.min(1, centre + half));
  }

  public boolean contains(double p) {
    return p >= low && p <= high;
  }
}
