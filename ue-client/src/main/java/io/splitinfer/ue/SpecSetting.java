package io.splitinfer.ue;

/**
 * One speculative configuration of the benchmarks, written {@code K[a][cP][-ahead]}: at most k
 * drafts per round, {@code a} = adaptive in [1, k] ({@link SpecK}), {@code cP} = fewer drafts where
 * the drafter's estimated chance of all being accepted falls below P ({@link SpecK#minChance}),
 * {@code -ahead} = each next round sent ahead ({@link SpecDecoder}, HiddenState.if_token); k = 0 is
 * one token per round trip.
 */
record SpecSetting(int k, boolean adaptive, double minChance, boolean ahead) {
  private static final String FORM = "K[a][cP][-ahead] (e.g. 4, 6a, 2-ahead, 8c0.3, 4a-ahead)";

  /** Parses {@code K[a][cP][-ahead]}; IllegalArgumentException names what is wrong. */
  static SpecSetting parse(String s) {
    String t = s.trim();
    boolean ahead = t.endsWith("-ahead");
    if (ahead) {
      t = t.substring(0, t.length() - "-ahead".length());
    }
    double minChance = 0;
    int c = t.indexOf('c');
    if (c >= 0) {
      try {
        minChance = Double.parseDouble(t.substring(c + 1));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'" + s + "' is not " + FORM);
      }
      if (!SpecK.isChance(minChance)) {
        throw new IllegalArgumentException("'" + s + "': P must be in [0, 1)");
      }
      t = t.substring(0, c);
    }
    boolean adaptive = t.endsWith("a");
    if (adaptive) {
      t = t.substring(0, t.length() - 1);
    }
    int k;
    try {
      k = Integer.parseInt(t);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("'" + s + "' is not " + FORM);
    }
    if (k < 0 || (k == 0 && (adaptive || ahead || c >= 0))) {
      throw new IllegalArgumentException("'" + s + "': k must be >= 1 (0 alone = off)");
    }
    return new SpecSetting(k, adaptive, minChance, ahead);
  }

  /** A decoder of this setting with {@code drafter}; null for k = 0. */
  SpecDecoder decoder(Drafter drafter) {
    return k == 0 ? null : new SpecDecoder(drafter, new SpecK(k, adaptive, minChance), ahead);
  }

  /** "off", "4", "6 (adaptive)", "8, chance 0.3", "2, ahead", ... */
  String label() {
    String label = k == 0 ? "off" : adaptive ? k + " (adaptive)" : Integer.toString(k);
    if (minChance > 0) {
      label += ", chance " + minChance;
    }
    return ahead ? label + ", ahead" : label;
  }
}
