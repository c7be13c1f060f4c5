package io.splitinfer.model.privacy;

/**
 * A success count out of n with its 95 % Wilson score interval (z = 1.96). The interval treats the
 * n trials as independent; tokens of one text are not quite (neighbouring positions share context),
 * so read it as a lower bound on the true uncertainty.
 */
public record Proportion(long successes, long n) {
  static final double Z95 = 1.959963984540054;

  public Proportion {
    if (n < 0 || successes < 0 || successes > n) {
      throw new IllegalArgumentException("bad proportion " + successes + "/" + n);
    }
  }

  public double rate() {
    return n == 0 ? Double.NaN : (double) successes / n;
  }

  public double lower() {
    return wilson(-1);
  }

  public double upper() {
    return wilson(+1);
  }

  private double wilson(int sign) {
    if (n == 0) {
      return sign < 0 ? 0 : 1;
    }
    double p = rate();
    double z2 = Z95 * Z95;
    double denom = 1 + z2 / n;
    double centre = p + z2 / (2.0 * n);
    double half = Z95 * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n));
    return Math.min(1, Math.max(0, (centre + sign * half) / denom));
  }
}
