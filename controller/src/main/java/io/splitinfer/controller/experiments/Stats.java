package io.splitinfer.controller.experiments;

import java.util.Arrays;

/** Mean and 95 % Student-t interval of repeated measurements (seeds), the unit of every result. */
record Stats(int n, double mean, double sd, double half) {
  /** Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom. */
  private static final double[] T975 = {
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042
  };

  static Stats of(double[] xs) {
    int n = xs.length;
    double mean = Arrays.stream(xs).average().orElse(Double.NaN);
    if (n < 2) {
      return new Stats(n, mean, 0, 0);
    }
    double ss = 0;
    for (double x : xs) {
      ss += (x - mean) * (x - mean);
    }
    double sd = Math.sqrt(ss / (n - 1));
    double t = n - 1 <= T975.length ? T975[n - 2] : 1.96;
    return new Stats(n, mean, sd, t * sd / Math.sqrt(n));
  }

  double lo() {
    return mean - half;
  }

  double hi() {
    return mean + half;
  }

  /** "mean ± half" with {@code digits} decimals. */
  String pm(int digits) {
    return String.format(
        java.util.Locale.ROOT, "%." + digits + "f ± %." + digits + "f", mean, half);
  }

  /** Least-squares slope and R² of y on x. */
  static double[] slopeR2(double[] x, double[] y) {
    int n = x.length;
    double mx = Arrays.stream(x).average().orElse(0);
    double my = Arrays.stream(y).average().orElse(0);
    double sxy = 0;
    double sxx = 0;
    double syy = 0;
    for (int i = 0; i < n; i++) {
      sxy += (x[i] - mx) * (y[i] - my);
      sxx += (x[i] - mx) * (x[i] - mx);
      syy += (y[i] - my) * (y[i] - my);
    }
    return new double[] {sxy / sxx, syy == 0 ? 0 : sxy * sxy / (sxx * syy)};
  }
}
