package io.splitinfer.ue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The {@link ScaleBenchCommand} outputs: {@code scale.csv} (one row per label and UE count), a
 * Markdown table with each label's speed-up over its own one-UE row, {@code scale-throughput.png}
 * (aggregate tokens/s against UEs, bars: the larger side of the min-max range over runs) and {@code
 * scale-latency.png} (p50 and p99 per-token latency against UEs).
 */
final class ScaleBenchReport {
  private static final String HEADER =
      "label,ues,repeats,tokens_per_s,tokens_per_s_min,tokens_per_s_max,p50_ms,p99_ms,load1,token_hash";

  record Row(
      String label,
      int ues,
      int repeats,
      double tokensPerS,
      double min,
      double max,
      double p50Ms,
      double p99Ms,
      double load1,
      String tokenHash) {}

  private ScaleBenchReport() {}

  /** The 1-minute load average (NaN where /proc/loadavg is absent). */
  static double loadAverage() {
    try {
      return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  static List<Row> readCsv(Path csv) throws IOException {
    List<Row> rows = new ArrayList<>();
    if (!Files.exists(csv)) {
      return rows;
    }
    for (String line : Files.readAllLines(csv)) {
      if (line.isBlank() || line.startsWith("label,")) {
        continue;
      }
      String[] f = line.split(",");
      rows.add(
          new Row(
              f[0],
              Integer.parseInt(f[1]),
              Integer.parseInt(f[2]),
              Double.parseDouble(f[3]),
              Double.parseDouble(f[4]),
              Double.parseDouble(f[5]),
              Double.parseDouble(f[6]),
              Double.parseDouble(f[7]),
              Double.parseDouble(f[8]),
              f[9]));
    }
    return rows;
  }

  private static double oneUe(List<Row> rows, String label) {
    return rows.stream()
        .filter(r -> r.label().equals(label) && r.ues() == 1)
        .mapToDouble(Row::tokensPerS)
        .findFirst()
        .orElse(Double.NaN);
  }

  static String table(String header, List<Row> rows) {
    StringBuilder t = new StringBuilder(header).append('\n');
    t.append(
        "| edge | UEs | tokens/s, median [min, max] | x one UE | p50 ms/token | p99 ms/token |"
            + " load avg (1 min) | tokens (hash) |\n");
    t.append("|---|---|---|---|---|---|---|---|\n");
    for (Row r : rows) {
      t.append(
          String.format(
              Locale.ROOT,
              "| %s | %d | %.2f [%.2f, %.2f] | %.2f | %.1f | %.1f | %.2f | %s |%n",
              r.label(),
              r.ues(),
              r.tokensPerS(),
              r.min(),
              r.max(),
              r.tokensPerS() / oneUe(rows, r.label()),
              r.p50Ms(),
              r.p99Ms(),
              r.load1(),
              r.tokenHash()));
    }
    return t.toString();
  }

  static void write(Path dir, String header, List<Row> rows) throws IOException {
    StringBuilder csv = new StringBuilder(HEADER).append('\n');
    for (Row r : rows) {
      csv.append(
          String.format(
              Locale.ROOT,
              "%s,%d,%d,%.3f,%.3f,%.3f,%.2f,%.2f,%.2f,%s%n",
              r.label(),
              r.ues(),
              r.repeats(),
              r.tokensPerS(),
              r.min(),
              r.max(),
              r.p50Ms(),
              r.p99Ms(),
              r.load1(),
              r.tokenHash()));
    }
    Files.writeString(dir.resolve("scale.csv"), csv);
    Files.writeString(dir.resolve("scale.md"), table(header, rows));
    Set<String> labels = new LinkedHashSet<>();
    rows.forEach(r -> labels.add(r.label()));
    XYChart tput =
        new XYChartBuilder()
            .width(800)
            .height(500)
            .title("Aggregate decode tokens/s (bars: larger side of the min-max range over runs)")
            .xAxisTitle("concurrent UEs")
            .yAxisTitle("tokens/s")
            .build();
    XYChart lat =
        new XYChartBuilder()
            .width(800)
            .height(500)
            .title("Per-token latency at a UE")
            .xAxisTitle("concurrent UEs")
            .yAxisTitle("ms/token")
            .build();
    for (String l : labels) {
      List<Row> rs = rows.stream().filter(r -> r.label().equals(l)).toList();
      double[] x = rs.stream().mapToDouble(Row::ues).toArray();
      double[] y = rs.stream().mapToDouble(Row::tokensPerS).toArray();
      double[] err =
          rs.stream()
              .mapToDouble(r -> Math.max(r.max() - r.tokensPerS(), r.tokensPerS() - r.min()))
              .toArray();
      tput.addSeries(l, x, y, err).setMarker(SeriesMarkers.CIRCLE);
      lat.addSeries(l + " p50", x, rs.stream().mapToDouble(Row::p50Ms).toArray())
          .setMarker(SeriesMarkers.CIRCLE);
      lat.addSeries(l + " p99", x, rs.stream().mapToDouble(Row::p99Ms).toArray())
          .setMarker(SeriesMarkers.DIAMOND);
    }
    BitmapEncoder.saveBitmap(
        tput, dir.resolve("scale-throughput.png").toString(), BitmapEncoder.BitmapFormat.PNG);
    BitmapEncoder.saveBitmap(
        lat, dir.resolve("scale-latency.png").toString(), BitmapEncoder.BitmapFormat.PNG);
  }
}
