package io.splitinfer.controller.experiments;

import io.splitinfer.core.channel.ChannelParams;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The paper's Fig. 3 in process ({@link LinkPpl}): PPL against the split under AWGN at equal
 * absolute σ and at equal SNR, under Rayleigh fading at several loss levels with a raw and an
 * equalizing receiver, and a σ × loss heat map, every cell over {@link Plan#seeds()} channel seeds
 * (mean and 95 % t-interval). Writes fig3.csv, fig3-rms.csv, fig3-*.png and returns Markdown.
 */
final class Fig3Study {
  /** One channel condition of the figure. */
  record Cond(String family, double sigma, double snrDb, double loss, String receiver) {
    ChannelParams params() {
      ChannelParams.Builder b =
          ChannelParams.builder().lossPolicy(ChannelParams.LossPolicy.ZERO_FILL);
      if (snrDb == snrDb) {
        b.snrDb(snrDb).useSnr(true);
      } else {
        b.sigma(sigma);
      }
      if (!"none".equals(receiver)) {
        b.fading(ChannelParams.Fading.RAYLEIGH).sigmaH(ChannelParams.UNIT_POWER_SIGMA_H);
        b.lossProbability(loss);
        b.receiver(
            "raw".equals(receiver) ? ChannelParams.Receiver.RAW : ChannelParams.Receiver.EQUALIZED);
      } else {
        b.fading(ChannelParams.Fading.NONE);
      }
      return b.build();
    }

    boolean deterministic() {
      return "none".equals(receiver) && sigma == 0 && snrDb != snrDb;
    }

    String label() {
      if (snrDb == snrDb) {
        return String.format(Locale.ROOT, "AWGN SNR %.0f dB", snrDb);
      }
      if ("none".equals(receiver)) {
        return String.format(Locale.ROOT, "AWGN σ=%s", num(sigma));
      }
      return String.format(
          Locale.ROOT,
          "Rayleigh loss %s, %s%s",
          num(loss),
          receiver,
          sigma > 0 ? ", σ=" + num(sigma) : "");
    }
  }

  record Cell(Cond cond, int split, Stats stats, double[] values) {}

  private final Plan plan;
  private final Progress progress;
  private final Path out;

  Fig3Study(Plan plan, Progress progress, Path out) {
    this.plan = plan;
    this.progress = progress;
    this.out = out;
  }

  List<Cond> lineConditions() {
    List<Cond> c = new ArrayList<>();
    c.add(new Cond("awgn-sigma", 0, Double.NaN, 0, "none"));
    for (double s : plan.fig3Sigmas()) {
      c.add(new Cond("awgn-sigma", s, Double.NaN, 0, "none"));
    }
    for (double snr : plan.fig3SnrDb()) {
      c.add(new Cond("awgn-snr", 0, snr, 0, "none"));
    }
    for (String rx : List.of("raw", "equalized")) {
      for (double l : plan.fig3Losses()) {
        c.add(new Cond("rayleigh-" + rx, 0, Double.NaN, l, rx));
      }
    }
    return c;
  }

  List<Cond> heatConditions() {
    List<Cond> c = new ArrayList<>();
    for (double l : plan.heatLosses()) {
      for (double s : plan.heatSigmas()) {
        c.add(new Cond("heat", s, Double.NaN, l, l > 0 ? "equalized" : "none"));
      }
    }
    return c;
  }

  long units() {
    long n = 0;
    for (Cond c : lineConditions()) {
      n += (long) plan.fig3Splits().length * (c.deterministic() ? 1 : plan.seeds());
    }
    for (Cond c : heatConditions()) {
      n += (long) plan.heatSplits().length * (c.deterministic() ? 1 : plan.seeds());
    }
    return n + 1;
  }

  String run(LinkPpl link) throws IOException {
    double[] rms = link.hiddenRms();
    progress.step("fig3: hidden-state RMS");
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out.resolve("fig3-rms.csv")))) {
      w.println("split,rms");
      for (int p = 0; p < rms.length; p++) {
        w.printf(Locale.ROOT, "%d,%.5f%n", p, rms[p]);
      }
    }
    List<Cell> cells = new ArrayList<>();
    for (Cond c : lineConditions()) {
      for (int p : plan.fig3Splits()) {
        cells.add(measure(link, c, p));
      }
    }
    List<Cell> heat = new ArrayList<>();
    for (Cond c : heatConditions()) {
      for (int p : plan.heatSplits()) {
        heat.add(measure(link, c, p));
      }
    }
    writeCsv(cells, heat);
    plots(cells, heat);
    return markdown(cells, heat, rms, link.tokens());
  }

  private Cell measure(LinkPpl link, Cond c, int p) {
    int n = c.deterministic() ? 1 : plan.seeds();
    double[] v = new double[n];
    for (int s = 0; s < n; s++) {
      v[s] = link.ppl(c.params(), p, s + 1);
      progress.step(String.format(Locale.ROOT, "fig3: %s p=%d seed %d", c.label(), p, s + 1));
    }
    return new Cell(c, p, Stats.of(v), v);
  }

  private void writeCsv(List<Cell> cells, List<Cell> heat) throws IOException {
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out.resolve("fig3.csv")))) {
      w.println(
          "family,sigma,snr_db,loss,receiver,split,seeds,ppl_mean,ppl_ci95,ppl_sd,ppl_per_seed");
      List<Cell> all = new ArrayList<>(cells);
      all.addAll(heat);
      for (Cell c : all) {
        StringBuilder per = new StringBuilder();
        for (double v : c.values()) {
          per.append(per.length() == 0 ? "" : ";").append(String.format(Locale.ROOT, "%.4f", v));
        }
        Cond k = c.cond();
        w.printf(
            Locale.ROOT,
            "%s,%s,%s,%s,%s,%d,%d,%.4f,%.4f,%.4f,%s%n",
            k.family(),
            num(k.sigma()),
            k.snrDb() == k.snrDb() ? num(k.snrDb()) : "",
            num(k.loss()),
            k.receiver(),
            c.split(),
            c.stats().n(),
            c.stats().mean(),
            c.stats().half(),
            c.stats().sd(),
            per);
      }
    }
  }

  private void plots(List<Cell> cells, List<Cell> heat) throws IOException {
    String seeds = plan.seeds() + " channel seeds, mean ± 95 % CI";
    linePlot(
        cells, List.of("awgn-sigma"), "fig3-awgn-sigma.png", "AWGN at equal σ (" + seeds + ")");
    linePlot(cells, List.of("awgn-snr"), "fig3-awgn-snr.png", "AWGN at equal SNR (" + seeds + ")");
    linePlot(
        cells,
        List.of("rayleigh-raw", "rayleigh-equalized"),
        "fig3-rayleigh.png",
        "Rayleigh fading, zero-fill, raw vs equalizing receiver (" + seeds + ")");
    String[] xs = new String[plan.heatSigmas().length];
    for (int j = 0; j < xs.length; j++) {
      xs[j] = num(plan.heatSigmas()[j]);
    }
    String[] ys = new String[plan.heatLosses().length];
    for (int i = 0; i < ys.length; i++) {
      ys[i] = num(plan.heatLosses()[i]);
    }
    for (int p : plan.heatSplits()) {
      double[][] v = new double[ys.length][xs.length];
      for (Cell c : heat) {
        if (c.split() == p) {
          int i = indexOf(plan.heatLosses(), c.cond().loss());
          int j = indexOf(plan.heatSigmas(), c.cond().sigma());
          v[i][j] = c.stats().mean();
        }
      }
      Charts.heatMap(
          out.resolve("fig3-heat-p" + p + ".png"),
          "PPL at p = "
              + p
              + " (σ × loss, equalizing receiver; mean of "
              + plan.seeds()
              + " seeds)",
          "noise σ",
          "packet loss P",
          xs,
          ys,
          v);
    }
  }

  private void linePlot(List<Cell> cells, List<String> families, String file, String title)
      throws IOException {
    List<Charts.Line> lines = new ArrayList<>();
    for (Cond c : lineConditions()) {
      if (!families.contains(c.family())) {
        continue;
      }
      List<Cell> cs = cells.stream().filter(x -> x.cond().equals(c)).toList();
      lines.add(
          new Charts.Line(
              c.label(),
              cs.stream().mapToDouble(Cell::split).toArray(),
              cs.stream().mapToDouble(x -> x.stats().mean()).toArray(),
              cs.stream().mapToDouble(x -> x.stats().half()).toArray()));
    }
    Charts.lines(
        out.resolve(file), title, "split point p (UE runs layers 1..p)", "PPL", lines, true);
  }

  private String markdown(List<Cell> cells, List<Cell> heat, double[] rms, int tokens) {
    StringBuilder md = new StringBuilder();
    md.append(
        String.format(
            Locale.ROOT,
            "### Fig. 3 (in process, %d held-out tokens per point, %d channel seeds, mean ± 95 %%"
                + " CI)%n%n",
            tokens,
            plan.seeds()));
    md.append("Hidden-state RMS by split:");
    for (int p = 0; p < rms.length; p++) {
      md.append(String.format(Locale.ROOT, " p%d %.2f", p, rms[p]));
    }
    md.append("\n\n").append(table(cells, plan.fig3Splits()));
    md.append("\nσ × loss (equalizing receiver; PPL mean ± 95 % CI):\n\n");
    md.append(table(heat, plan.heatSplits()));
    return md.toString();
  }

  private static String table(List<Cell> cells, int[] splits) {
    StringBuilder md = new StringBuilder("| channel |");
    for (int p : splits) {
      md.append(" p=").append(p).append(" |");
    }
    md.append("\n|---|").append("---:|".repeat(splits.length)).append('\n');
    List<Cond> seen = new ArrayList<>();
    for (Cell c : cells) {
      if (seen.contains(c.cond())) {
        continue;
      }
      seen.add(c.cond());
      md.append("| ").append(c.cond().label()).append(" |");
      for (int p : splits) {
        cells.stream()
            .filter(x -> x.cond().equals(c.cond()) && x.split() == p)
            .findFirst()
            .ifPresent(x -> md.append(' ').append(x.stats().pm(2)).append(" |"));
      }
      md.append('\n');
    }
    return md.toString();
  }

  private static int indexOf(double[] xs, double v) {
    for (int i = 0; i < xs.length; i++) {
      if (xs[i] == v) {
        return i;
      }
    }
    return -1;
  }

  static String num(double v) {
    if (v == Math.rint(v)) {
      return String.valueOf((long) v);
    }
    return new java.math.BigDecimal(v)
        .round(new java.math.MathContext(6))
        .stripTrailingZeros()
        .toPlainString();
  }
}
