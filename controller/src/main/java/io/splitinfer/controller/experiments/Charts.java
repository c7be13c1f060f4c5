package io.splitinfer.controller.experiments;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.BoxChart;
import org.knowm.xchart.BoxChartBuilder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The PNGs of the experiments (XChart, as {@code plot-decisions} and {@code compare} render
 * theirs): lines with 95 % error bars, mean curves with a band, heat maps, box plots, a parity plot
 * and a scatter with a binned trend.
 */
final class Charts {
  private static final Color[] PALETTE = {
    new Color(31, 119, 180),
    new Color(255, 127, 14),
    new Color(44, 160, 44),
    new Color(214, 39, 40),
    new Color(148, 103, 189),
    new Color(140, 86, 75),
    new Color(227, 119, 194),
    new Color(127, 127, 127)
  };

  private Charts() {}

  /** One series per entry: y means with ± half-width error bars at x. */
  record Line(String name, double[] x, double[] y, double[] err) {}

  static XYChart xy(String title, String xLabel, String yLabel) {
    XYChart c =
        new XYChartBuilder()
            .width(900)
            .height(520)
            .title(title)
            .xAxisTitle(xLabel)
            .yAxisTitle(yLabel)
            .build();
    c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
    c.getStyler().setSeriesColors(PALETTE);
    return c;
  }

  static void lines(Path png, String title, String xLabel, String yLabel, List<Line> lines)
      throws IOException {
    lines(png, title, xLabel, yLabel, lines, false);
  }

  static void lines(
      Path png, String title, String xLabel, String yLabel, List<Line> lines, boolean logY)
      throws IOException {
    XYChart c = xy(title, xLabel, yLabel);
    boolean positive = true;
    for (Line l : lines) {
      for (int i = 0; i < l.y().length; i++) {
        positive &= l.y()[i] - (l.err() == null ? 0 : l.err()[i]) > 0;
      }
    }
    // a log axis only where every error bar stays above zero (XChart refuses the rest)
    c.getStyler().setYAxisLogarithmic(logY && positive);
    c.getStyler().setErrorBarsColorSeriesColor(true);
    for (Line l : lines) {
      XYSeries s =
          l.err() == null
              ? c.addSeries(l.name(), l.x(), l.y())
              : c.addSeries(l.name(), l.x(), l.y(), l.err());
      s.setMarker(SeriesMarkers.CIRCLE);
    }
    save(c, png);
  }

  /** Mean curves with a band [lo, hi] drawn as thin dashed lines of the same colour. */
  static void bands(
      Path png,
      String title,
      String xLabel,
      String yLabel,
      List<String> names,
      List<double[]> xs,
      List<double[][]> meanLoHi)
      throws IOException {
    XYChart c = xy(title, xLabel, yLabel);
    for (int i = 0; i < names.size(); i++) {
      Color col = PALETTE[i % PALETTE.length];
      double[][] m = meanLoHi.get(i);
      XYSeries s = c.addSeries(names.get(i), xs.get(i), m[0]);
      s.setMarker(SeriesMarkers.NONE).setLineColor(col);
      for (int k = 1; k <= 2; k++) {
        XYSeries b = c.addSeries(names.get(i) + (k == 1 ? " lo" : " hi"), xs.get(i), m[k]);
        b.setMarker(SeriesMarkers.NONE).setLineColor(col).setShowInLegend(false);
        b.setLineStyle(
            new BasicStroke(
                0.8f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {3f}, 0f));
      }
    }
    save(c, png);
  }

  /** A heat map: value[i][j] at column xs[j], row ys[i]. */
  static void heatMap(
      Path png, String title, String xLabel, String yLabel, String[] xs, String[] ys, double[][] v)
      throws IOException {
    HeatMapChart c =
        new HeatMapChartBuilder()
            .width(700)
            .height(520)
            .title(title)
            .xAxisTitle(xLabel)
            .yAxisTitle(yLabel)
            .build();
    c.getStyler().setShowValue(true);
    c.getStyler().setRangeColors(new Color[] {new Color(255, 255, 204), new Color(189, 0, 38)});
    List<Number[]> data = new ArrayList<>();
    for (int i = 0; i < ys.length; i++) {
      for (int j = 0; j < xs.length; j++) {
        data.add(new Number[] {j, i, Math.round(v[i][j] * 10) / 10.0});
      }
    }
    c.addSeries("PPL", List.of(xs), List.of(ys), data);
    save(c, png);
  }

  /** Box plots (median, quartiles, whiskers) of each named sample. */
  static void boxes(Path png, String title, String yLabel, List<String> names, List<double[]> data)
      throws IOException {
    BoxChart c =
        new BoxChartBuilder().width(900).height(520).title(title).yAxisTitle(yLabel).build();
    c.getStyler().setSeriesColors(PALETTE);
    for (int i = 0; i < names.size(); i++) {
      c.addSeries(names.get(i), data.get(i));
    }
    save(c, png);
  }

  /** Points (x, y) with a trend line (tx, ty); {@code diagonal} adds y = x. */
  static void scatter(
      Path png,
      String title,
      String xLabel,
      String yLabel,
      double[] x,
      double[] y,
      String trendName,
      double[] tx,
      double[] ty,
      boolean logAxes)
      throws IOException {
    XYChart c = xy(title, xLabel, yLabel);
    c.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
    c.getStyler().setMarkerSize(4);
    c.getStyler().setXAxisLogarithmic(logAxes);
    c.getStyler().setYAxisLogarithmic(logAxes);
    c.addSeries("points", x, y).setMarker(SeriesMarkers.CIRCLE);
    XYSeries t = c.addSeries(trendName, tx, ty);
    t.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
    t.setMarker(SeriesMarkers.NONE);
    t.setLineStyle(SeriesLines.SOLID);
    save(c, png);
  }

  static void save(Chart<?, ?> chart, Path png) throws IOException {
    Path parent = png.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
  }
}
