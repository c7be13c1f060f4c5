package io.splitinfer.model.privacy;

import io.splitinfer.model.privacy.PrivacyAttack.Result;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Writes what {@link PrivacyAttack} measured: {@code recovery.csv} (one row per split, condition
 * and attack, with the Wilson 95 % interval), {@code recovery-<attack>.png} (recovery against p,
 * one curve per condition), {@code floor-table.csv} (per split, the worst case over attacks on the
 * clean wire: the rate and its upper 95 % bound, the table the controller's privacy floor maps a
 * maximum recovery rate through) and a console table.
 */
public final class PrivacyReport {
  private PrivacyReport() {}

  public static void write(Path dir, List<Result> results) throws IOException {
    Files.createDirectories(dir);
    StringBuilder csv =
        new StringBuilder("split,condition,attack,n,recovered,rate,lo95,hi95,hidden_rms\n");
    for (Result r : results) {
      Proportion q = r.recovery();
      csv.append(
          String.format(
              Locale.ROOT,
              "%d,%s,%s,%d,%d,%.6f,%.6f,%.6f,%.6g%n",
              r.split(),
              r.condition(),
              r.attack(),
              q.n(),
              q.successes(),
              q.rate(),
              q.lower(),
              q.upper(),
              r.hiddenRms()));
    }
    Files.writeString(dir.resolve("recovery.csv"), csv);
    StringBuilder floor = new StringBuilder("split,max_recovery_rate,max_recovery_hi95\n");
    for (int p : splits(results)) {
      double rate = 0;
      double hi = 0;
      for (Result r : results) {
        if (r.split() == p
            && r.condition().equals(WireCondition.clean().name())
            && !r.attack().equals("candidates")) {
          rate = Math.max(rate, r.recovery().rate());
          hi = Math.max(hi, r.recovery().upper());
        }
      }
      floor.append(String.format(Locale.ROOT, "%d,%.6f,%.6f%n", p, rate, hi));
    }
    Files.writeString(dir.resolve("floor-table.csv"), floor);
    for (String attack : attacks(results)) {
      plot(dir.resolve("recovery-" + attack + ".png"), attack, results);
    }
  }

  private static void plot(Path png, String attack, List<Result> results) throws IOException {
    XYChart chart =
        new XYChartBuilder()
            .width(800)
            .height(500)
            .title(
                "Token recovery from the wire, "
                    + attack
                    + " attack (bars: 95% Wilson, larger side)")
            .xAxisTitle("split p (wire carries the output of layer p)")
            .yAxisTitle("tokens recovered")
            .build();
    chart.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
    for (String cond : conditions(results)) {
      List<double[]> pts = new ArrayList<>();
      for (Result r : results) {
        if (r.attack().equals(attack) && r.condition().equals(cond)) {
          Proportion q = r.recovery();
          pts.add(new double[] {r.split(), q.rate(), q.rate() - q.lower(), q.upper() - q.rate()});
        }
      }
      if (pts.isEmpty()) {
        continue;
      }
      double[] x = new double[pts.size()];
      double[] y = new double[pts.size()];
      double[] err = new double[pts.size()];
      for (int i = 0; i < x.length; i++) {
        x[i] = pts.get(i)[0];
        y[i] = pts.get(i)[1];
        err[i] = Math.max(pts.get(i)[2], pts.get(i)[3]);
      }
      chart.addSeries(cond, x, y, err).setMarker(SeriesMarkers.CIRCLE);
    }
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
  }

  /** Prints recovery % per split (rows) and condition/attack (columns). */
  public static void print(PrintStream out, List<Result> results) {
    List<String> cols = new ArrayList<>();
    for (String c : conditions(results)) {
      for (String a : attacks(results)) {
        cols.add(c + "/" + a);
      }
    }
    StringBuilder head = new StringBuilder(String.format("%-4s", "p"));
    for (String c : cols) {
      head.append(String.format(" %24s", c));
    }
    out.println(head);
    for (int p : splits(results)) {
      StringBuilder row = new StringBuilder(String.format("%-4d", p));
      for (String c : cols) {
        String cell = "-";
        for (Result r : results) {
          if (r.split() == p && c.equals(r.condition() + "/" + r.attack())) {
            Proportion q = r.recovery();
            cell =
                String.format(
                    Locale.ROOT,
                    "%5.1f [%4.1f,%5.1f] n%d",
                    100 * q.rate(),
                    100 * q.lower(),
                    100 * q.upper(),
                    q.n());
          }
        }
        row.append(String.format(" %24s", cell));
      }
      out.println(row);
    }
  }

  private static Set<Integer> splits(List<Result> rs) {
    Set<Integer> s = new TreeSet<>();
    rs.forEach(r -> s.add(r.split()));
    return s;
  }

  private static Set<String> conditions(List<Result> rs) {
    Set<String> s = new LinkedHashSet<>();
    rs.forEach(r -> s.add(r.condition()));
    return s;
  }

  private static Set<String> attacks(List<Result> rs) {
    Set<String> s = new LinkedHashSet<>();
    rs.forEach(r -> s.add(r.attack()));
    return s;
  }
}
