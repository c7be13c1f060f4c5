package io.splitinfer.controller.live;

import io.splitinfer.core.channel.ChannelModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A measured PPL table PPL(σ, P_loss, p) on a grid, read from the records CSV that {@code
 * controller measure --csv} writes ({@code sigma,sigma_h,split,ppl,...}; σ_h in the policy's
 * convention h_th = 1, so P_loss = 1 − exp(−1/(2σ_h²)), eq. 4). Between grid points PPL is
 * interpolated bilinearly in (σ, P_loss); outside the grid the nearest edge is used. Loss rates of
 * the records' "no loss" rows (P clamped to 1e-4) count as 0.
 */
public final class PplTable {
  private final double[] sigmas;
  private final double[] losses;
  private final int minSplit;
  private final int maxSplit;
  private final double[][][] ppl; // [sigma][loss][split - minSplit]

  private PplTable(double[] sigmas, double[] losses, int minSplit, int maxSplit, double[][][] ppl) {
    this.sigmas = sigmas;
    this.losses = losses;
    this.minSplit = minSplit;
    this.maxSplit = maxSplit;
    this.ppl = ppl;
  }

  /** P_loss of a σ_h at h_th = 1 (eq. 4); 0 for σ_h = ∞ or P below 1e-3. */
  public static double lossOf(double sigmaH) {
    if (!(sigmaH > 0) || Double.isInfinite(sigmaH)) {
      return 0;
    }
    double p = ChannelModel.lossProbability(1.0, sigmaH);
    return p < 1e-3 ? 0 : p;
  }

  /** Reads a records CSV; IOException when the file is unreadable or the grid incomplete. */
  public static PplTable load(Path csv) throws IOException {
    return parse(Files.readAllLines(csv, StandardCharsets.UTF_8), csv.toString());
  }

  /** Reads a records CSV from the classpath. */
  public static PplTable loadResource(String resource) throws IOException {
    try (java.io.InputStream in = PplTable.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("no resource " + resource);
      }
      String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      return parse(text.lines().toList(), "classpath:" + resource);
    }
  }

  static PplTable parse(List<String> lines, String what) throws IOException {
    if (lines.isEmpty()) {
      throw new IOException(what + ": empty");
    }
    List<String> header = Arrays.asList(lines.get(0).trim().split(","));
    int iSigma = header.indexOf("sigma");
    int iSigmaH = header.indexOf("sigma_h");
    int iSplit = header.indexOf("split");
    int iPpl = header.indexOf("ppl");
    if (iSigma < 0 || iSigmaH < 0 || iSplit < 0 || iPpl < 0) {
      throw new IOException(what + ": need columns sigma,sigma_h,split,ppl; got " + header);
    }
    TreeMap<String, Double> cells = new TreeMap<>();
    TreeSet<Double> sig = new TreeSet<>();
    TreeSet<Double> los = new TreeSet<>();
    TreeSet<Integer> spl = new TreeSet<>();
    for (int i = 1; i < lines.size(); i++) {
      String line = lines.get(i).trim();
      if (line.isEmpty()) {
        continue;
      }
      String[] f = line.split(",");
      try {
        double s = Double.parseDouble(f[iSigma]);
        double l = round(lossOf(Double.parseDouble(f[iSigmaH])));
        int p = Integer.parseInt(f[iSplit]);
        double v = Double.parseDouble(f[iPpl]);
        sig.add(s);
        los.add(l);
        spl.add(p);
        cells.put(key(s, l, p), v);
      } catch (RuntimeException e) {
        throw new IOException(what + ": bad line " + (i + 1) + ": " + line, e);
      }
    }
    double[] sigmas = sig.stream().mapToDouble(Double::doubleValue).toArray();
    double[] losses = los.stream().mapToDouble(Double::doubleValue).toArray();
    int lo = spl.first();
    int hi = spl.last();
    double[][][] t = new double[sigmas.length][losses.length][hi - lo + 1];
    for (int a = 0; a < sigmas.length; a++) {
      for (int b = 0; b < losses.length; b++) {
        for (int p = lo; p <= hi; p++) {
          Double v = cells.get(key(sigmas[a], losses[b], p));
          if (v == null) {
            throw new IOException(
                what
                    + ": grid incomplete, no record for σ="
                    + sigmas[a]
                    + " P="
                    + losses[b]
                    + " p="
                    + p);
          }
          t[a][b][p - lo] = v;
        }
      }
    }
    return new PplTable(sigmas, losses, lo, hi, t);
  }

  private static double round(double v) {
    return Math.round(v * 1e4) / 1e4;
  }

  private static String key(double s, double l, int p) {
    return String.format(Locale.ROOT, "%.6f|%.4f|%d", s, l, p);
  }

  public int minSplit() {
    return minSplit;
  }

  public int maxSplit() {
    return maxSplit;
  }

  /** PPL at (σ, P_loss) and split p, bilinear between grid points. */
  public double ppl(double sigma, double loss, int p) {
    if (p < minSplit || p > maxSplit) {
      throw new IllegalArgumentException(
          "split " + p + " outside the table's [" + minSplit + ", " + maxSplit + "]");
    }
    int k = p - minSplit;
    int a = lower(sigmas, sigma);
    int b = lower(losses, loss);
    double u = frac(sigmas, a, sigma);
    double w = frac(losses, b, loss);
    int a1 = Math.min(a + 1, sigmas.length - 1);
    int b1 = Math.min(b + 1, losses.length - 1);
    return (1 - u) * (1 - w) * ppl[a][b][k]
        + u * (1 - w) * ppl[a1][b][k]
        + (1 - u) * w * ppl[a][b1][k]
        + u * w * ppl[a1][b1][k];
  }

  private static int lower(double[] grid, double x) {
    int i = 0;
    while (i + 1 < grid.length && grid[i + 1] <= x) {
      i++;
    }
    return i;
  }

  private static double frac(double[] grid, int i, double x) {
    if (i + 1 >= grid.length || x <= grid[i]) {
      return 0;
    }
    return Math.min(1, (x - grid[i]) / (grid[i + 1] - grid[i]));
  }
}
