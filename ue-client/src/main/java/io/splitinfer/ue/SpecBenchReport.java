package io.splitinfer.ue;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The tables and files of {@link SpecBenchCommand}: rows per delay and k, early-exit agreement. */
final class SpecBenchReport {
  /**
   * One measured configuration.
   *
   * @param delayMs one-way delay set on channel-sim (NaN = left as it was)
   * @param drafter the drafter ("-" for k = 0)
   * @param k drafts per round (0 = one token per round trip)
   * @param tokensPerS decode tokens/s, median over runs; min and max beside
   * @param speedup median / the k = 0 row's median at the same delay
   * @param acceptance accepted / drafted drafts (NaN for k = 0)
   * @param tokensPerRound decode tokens per round trip
   * @param draftMsPerRound UE time drafting per round (its layers over k + 1 rows, the heads)
   * @param waitMsPerRound time from the send to the Verified per round (link + edge)
   * @param identical every run's tokens equal the k = 0 row's first run
   */
  record Row(
      double delayMs,
      String drafter,
      int k,
      boolean adaptive,
      double minChance,
      boolean ahead,
      double aheadShare,
      double tokensPerS,
      double minTokensPerS,
      double maxTokensPerS,
      double speedup,
      double acceptance,
      double tokensPerRound,
      double draftMsPerRound,
      double waitMsPerRound,
      boolean identical) {
    double rttMs() {
      return 2 * delayMs;
    }

    String kLabel() {
      return new SpecSetting(k, adaptive, minChance, ahead).label();
    }
  }

  private final String header;
  private final List<Row> rows = new ArrayList<>();
  private double[] agreement = new double[0];

  SpecBenchReport(String header) {
    this.header = header;
  }

  void agreement(double[] perSplit) {
    this.agreement = perSplit.clone();
  }

  void add(Row r) {
    rows.add(r);
  }

  String line(Row r) {
    return String.format(
        Locale.ROOT,
        "| %s | %s | %s | %s | %s | %.1f [%.1f, %.1f] | %.2fx | %s | %.2f | %s | %s | %s |",
        fmt(r.delayMs()),
        fmt(r.rttMs()),
        r.delayMs() > 0 ? String.format(Locale.ROOT, "%.1f", 1000 / r.rttMs()) : "-",
        r.drafter(),
        r.kLabel(),
        r.tokensPerS(),
        r.minTokensPerS(),
        r.maxTokensPerS(),
        r.speedup(),
        Double.isNaN(r.acceptance())
            ? "-"
            : String.format(Locale.ROOT, "%.1f%%", 100 * r.acceptance()),
        r.tokensPerRound(),
        Double.isNaN(r.draftMsPerRound())
            ? "-"
            : String.format(Locale.ROOT, "%.1f / %.1f", r.draftMsPerRound(), r.waitMsPerRound()),
        r.ahead() ? String.format(Locale.ROOT, "%.1f%%", 100 * r.aheadShare()) : "-",
        r.identical() ? "yes" : "NO");
  }

  private static String fmt(double v) {
    return Double.isNaN(v) ? "as set" : String.format(Locale.ROOT, "%.0f", v);
  }

  String markdown() {
    StringBuilder b = new StringBuilder(header).append('\n').append('\n');
    b.append(
        "| one-way delay ms | RTT ms | 1/RTT tok/s | drafter | k | decode tok/s | vs k off |"
            + " acceptance | tokens / round trip | ms / round: draft / wait | rounds sent ahead |"
            + " tokens == k off |\n");
    b.append("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (Row r : rows) {
      b.append(line(r)).append('\n');
    }
    if (agreement.length > 0) {
      b.append(
          "\nEarly exit after layer p vs the whole model (greedy next token, same positions):\n\n");
      StringBuilder head = new StringBuilder("| p |");
      StringBuilder sep = new StringBuilder("|---|");
      StringBuilder val = new StringBuilder("| agreement |");
      for (int p = 0; p < agreement.length; p++) {
        head.append(' ').append(p).append(" |");
        sep.append("---|");
        val.append(String.format(Locale.ROOT, " %.1f%% |", 100 * agreement[p]));
      }
      b.append(head).append('\n').append(sep).append('\n').append(val).append('\n');
    }
    return b.toString();
  }

  String csv() {
    StringBuilder b =
        new StringBuilder(
            "one_way_delay_ms,rtt_ms,drafter,k,adaptive,min_chance,ahead,ahead_share,tokens_per_s,min_tokens_per_s,max_tokens_per_s,"
                + "speedup,acceptance,tokens_per_round,draft_ms_per_round,wait_ms_per_round,identical\n");
    for (Row r : rows) {
      b.append(
          String.format(
              Locale.ROOT,
              "%s,%s,%s,%d,%s,%s,%s,%.4f,%.3f,%.3f,%.3f,%.4f,%.4f,%.4f,%.3f,%.3f,%s%n",
              r.delayMs(),
              r.rttMs(),
              r.drafter(),
              r.k(),
              r.adaptive(),
              r.minChance(),
              r.ahead(),
              r.aheadShare(),
              r.tokensPerS(),
              r.minTokensPerS(),
              r.maxTokensPerS(),
              r.speedup(),
              r.acceptance(),
              r.tokensPerRound(),
              r.draftMsPerRound(),
              r.waitMsPerRound(),
              r.identical()));
    }
    return b.toString();
  }

  private static String num(double v) {
    return Double.isNaN(v) ? "null" : String.format(Locale.ROOT, "%.3f", v);
  }

  String json() {
    StringBuilder b = new StringBuilder("{\n  \"header\": \"").append(header.replace("\"", "'"));
    b.append("\",\n  \"rows\": [\n");
    for (int i = 0; i < rows.size(); i++) {
      Row r = rows.get(i);
      b.append(
          String.format(
              Locale.ROOT,
              "    {\"one_way_delay_ms\":%s,\"drafter\":\"%s\",\"k\":%d,\"adaptive\":%s,"
                  + "\"min_chance\":%s,\"ahead\":%s,\"ahead_share\":%.4f,\"tokens_per_s\":%.3f,"
                  + "\"min_tokens_per_s\":%.3f,\"max_tokens_per_s\":%.3f,\"speedup\":%.4f,"
                  + "\"acceptance\":%s,\"tokens_per_round\":%.4f,\"draft_ms_per_round\":%s,"
                  + "\"wait_ms_per_round\":%s,\"identical\":%s}%s%n",
              Double.isNaN(r.delayMs()) ? "null" : Double.toString(r.delayMs()),
              r.drafter(),
              r.k(),
              r.adaptive(),
              r.minChance(),
              r.ahead(),
              r.aheadShare(),
              r.tokensPerS(),
              r.minTokensPerS(),
              r.maxTokensPerS(),
              r.speedup(),
              Double.isNaN(r.acceptance())
                  ? "null"
                  : String.format(Locale.ROOT, "%.4f", r.acceptance()),
              r.tokensPerRound(),
              num(r.draftMsPerRound()),
              num(r.waitMsPerRound()),
              r.identical(),
              i + 1 < rows.size() ? "," : ""));
    }
    b.append("  ],\n  \"early_exit_agreement\": [");
    for (int p = 0; p < agreement.length; p++) {
      b.append(String.format(Locale.ROOT, "%s%.4f", p == 0 ? "" : ", ", agreement[p]));
    }
    return b.append("]\n}\n").toString();
  }
}
