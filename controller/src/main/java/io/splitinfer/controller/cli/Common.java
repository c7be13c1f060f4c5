package io.splitinfer.controller.cli;

import io.splitinfer.controller.env.ChannelCase;
import io.splitinfer.controller.env.SplitEnvironment;
import io.splitinfer.controller.reward.RewardSource;
import io.splitinfer.controller.reward.SurrogateReward;
import io.splitinfer.controller.service.PolicyFactory;
import io.splitinfer.core.objective.Objective;
import io.splitinfer.core.objective.UeCost;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.LongFunction;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** Helpers shared by the offline subcommands. */
final class Common {
  private Common() {}

  /** Default λ: see the controller README (PPL points for running all layers on the UE). */
  static final String DEFAULT_LAMBDA = "50.0";

  static SurrogateReward surrogate(String file) {
    return PolicyFactory.loadSurrogate(file == null ? "" : file);
  }

  /** The objective of the surrogate's model, for a UE of the surrogate's weight format. */
  static Objective objective(SurrogateReward s, double lambda) {
    return objective(s, lambda, s.weightFormat());
  }

  /** The objective of the surrogate's model for a UE of {@code weightFormat} (eq. 2 weighted). */
  static Objective objective(SurrogateReward s, double lambda, String weightFormat) {
    int dIn = s.inputLength() > 0 ? s.inputLength() : 64;
    int dMid = s.hiddenSize() > 0 ? s.hiddenSize() : 64;
    return new Objective(new UeCost(dIn, dMid, s.env().numLayers(), weightFormat), lambda);
  }

  static LongFunction<SplitEnvironment> envs(
      SurrogateReward s, RewardSource r, ChannelCase c, Objective o) {
    return envs(s, r, c, o, 0);
  }

  /** Environments with a privacy floor (the smallest split they take, 0 = none). */
  static LongFunction<SplitEnvironment> envs(
      SurrogateReward s, RewardSource r, ChannelCase c, Objective o, int privacyFloor) {
    return seed -> new SplitEnvironment(s.env(), c, r, o, seed).withPrivacyFloor(privacyFloor);
  }

  /** A one-line progress bar on {@code out}. */
  static void progress(PrintStream out, int done, int total, String extra) {
    int width = 30;
    int filled = (int) ((long) width * done / Math.max(1, total));
    out.printf(
        Locale.ROOT,
        "\r[%s%s] %3d%% %s",
        "#".repeat(filled),
        ".".repeat(width - filled),
        100L * done / Math.max(1, total),
        extra);
    if (done >= total) {
      out.println();
    }
    out.flush();
  }

  static void linePlot(
      Path png, String title, String xLabel, String yLabel, List<String> names, List<double[][]> xy)
      throws IOException {
    XYChart chart =
        new XYChartBuilder()
            .width(900)
            .height(500)
            .title(title)
            .xAxisTitle(xLabel)
            .yAxisTitle(yLabel)
            .build();
    for (int i = 0; i < names.size(); i++) {
      XYSeries s = chart.addSeries(names.get(i), xy.get(i)[0], xy.get(i)[1]);
      s.setMarker(SeriesMarkers.NONE);
    }
    save(chart, png);
  }

  static void save(XYChart chart, Path png) throws IOException {
    Path parent = png.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
  }
}
