package io.splitinfer.ue;

/**
 * One speculative configuration of the benchmarks, written {@code K[a][-ahead]}: k drafts per
 * round, {@code a} = adaptive in [1, k] ({@link SpecK}), {@code -ahead} = each next round sent
 * ahead ({@link SpecDecoder}, HiddenState.if_token); k = 0 is one token per round trip.
 */
record SpecSetting(int k, boolean adaptive, boolean ahead) {
  /** Parses {@code K[a][-ahead]}; IllegalArgumentException names what is wrong. */
  static SpecSetting parse(String s) {
    String t = s.trim();
    boolean ahead = t.endsWith("-ahead");
    if (ahead) {
      t = t.substring(0, t.length() - "-ahead".length());
    }
    boolean adaptive = t.endsWith("a");
    if (adaptive) {
      t = t.substring(0, t.length() - 1);
    }
    int k;
    try {
      k = Integer.parseInt(t);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "'" + s + "' is not K[a][-ahead] (e.g. 4, 6a, 2-ahead, 4a-ahead)");
    }
    if (k < 0 || (k == 0 && (adaptive || ahead))) {
      throw new IllegalArgumentException("'" + s + "': k must be >= 1 (0 alone = off)");
    }
    return new SpecSetting(k, adaptive, ahead);
  }

  /** A decoder of this setting with {@code drafter}; null for k = 0. */
  SpecDecoder decoder(Drafter drafter) {
    return k == 0 ? null : new SpecDecoder(drafter, new SpecK(k, adaptive), ahead);
  }

  /** "off", "4", "6 (adaptive)", "2, ahead", ... */
  String label() {
    String label = k == 0 ? "off" : adaptive ? k + " (adaptive)" : Integer.toString(k);
    return ahead ? label + ", ahead" : label;
  }
}
