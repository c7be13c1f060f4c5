package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Chi-square tests for the speculative sampling tests (alpha 0.001). */
final class ChiSquare {
  private ChiSquare() {}

  /** Upper 0.001 quantile of chi-square with {@code df} degrees (Wilson-Hilferty). */
  static double critical(int df) {
    double z = 3.0902;
    double a = 2.0 / (9 * df);
    return df * Math.pow(1 - a + z * Math.sqrt(a), 3);
  }

  /**
   * Two-sample homogeneity test over {@code counts} (value -> [count in sample 0, in sample 1]);
   * values with fewer than 10 observations in all are pooled into one bin.
   */
  static void assertSameDistribution(Map<Integer, int[]> counts, String what) {
    List<int[]> bins = new ArrayList<>();
    int[] rest = new int[2];
    for (int[] c : counts.values()) {
      if (c[0] + c[1] >= 10) {
        bins.add(c);
      } else {
        rest[0] += c[0];
        rest[1] += c[1];
      }
    }
    if (rest[0] + rest[1] > 0) {
      bins.add(rest);
    }
    double n0 = 0;
    double n1 = 0;
    for (int[] b : bins) {
      n0 += b[0];
      n1 += b[1];
    }
    double stat = 0;
    for (int[] b : bins) {
      double tot = b[0] + b[1];
      double e0 = tot * n0 / (n0 + n1);
      double e1 = tot * n1 / (n0 + n1);
      stat += (b[0] - e0) * (b[0] - e0) / e0 + (b[1] - e1) * (b[1] - e1) / e1;
    }
    int df = bins.size() - 1;
    assertTrue(df >= 1, what + ": one bin only");
    assertTrue(
        stat < critical(df),
        what + ": chi-square " + stat + " >= " + critical(df) + " (df " + df + ")");
  }

  /** Goodness of fit of {@code observed} counts to probabilities {@code p} (bins p >= 1e-9). */
  static void assertFits(int[] observed, double[] p, String what) {
    int total = 0;
    for (int o : observed) {
      total += o;
    }
    double stat = 0;
    int bins = 0;
    for (int i = 0; i < p.length; i++) {
      if (p[i] < 1e-9) {
        assertTrue(observed[i] == 0, what + ": id " + i + " has p 0 but was drawn");
        continue;
      }
      double e = p[i] * total;
      stat += (observed[i] - e) * (observed[i] - e) / e;
      bins++;
    }
    assertTrue(
        stat < critical(bins - 1),
        what + ": chi-square " + stat + " >= " + critical(bins - 1) + " (df " + (bins - 1) + ")");
  }
}
