package io.splitinfer.controller.cli;

import io.splitinfer.controller.env.ChannelCase;
import io.splitinfer.controller.env.SplitEnvironment;
import io.splitinfer.controller.ppo.ActorCritic;
import io.splitinfer.controller.ppo.PpoCheckpoint;
import io.splitinfer.controller.reward.SurrogateReward;
import io.splitinfer.controller.service.PolicyFactory;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code controller plot-decisions}: the paper's Fig. 7. */
@Command(
    name = "plot-decisions",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description =
        "The trained agent's split after a 5-step episode for N channels drawn from a case,"
            + " against the noise σ (the paper's Fig. 7), with a binned-mean trend and the"
            + " least-squares slope.")
final class PlotDecisionsCommand implements Callable<Integer> {
  @Option(names = "--checkpoint", description = "default: the jar's", defaultValue = "")
  String checkpoint;

  @Option(names = "--surrogate-file", defaultValue = "")
  String surrogateFile;

  @Option(names = "--case", defaultValue = "A")
  String channelCase;

  @Option(names = "--decisions", defaultValue = "500")
  int decisions;

  @Option(names = "--seed", defaultValue = "3")
  long seed;

  @Option(names = "--out", defaultValue = "controller-out/decisions-vs-sigma.png")
  Path out;

  @Override
  public Integer call() throws Exception {
    PpoCheckpoint cp = PolicyFactory.loadCheckpoint(checkpoint);
    SurrogateReward s = Common.surrogate(surrogateFile);
    ActorCritic agent = cp.agent();
    SplitEnvironment env =
        new SplitEnvironment(
            cp.env(), ChannelCase.parse(channelCase), s, Common.objective(s, cp.lambda()), seed);
    double[] sig = new double[decisions];
    double[] split = new double[decisions];
    for (int i = 0; i < decisions; i++) {
      double[] obs = env.reset();
      boolean done = false;
      while (!done) {
        var st = env.step(agent.greedyAction(obs));
        obs = st.observation();
        done = st.done();
      }
      sig[i] = env.channel().sigma();
      split[i] = env.split();
    }
    // least squares slope and R²
    double mx = 0;
    double my = 0;
    for (int i = 0; i < decisions; i++) {
      mx += sig[i];
      my += split[i];
    }
    mx /= decisions;
    my /= decisions;
    double sxy = 0;
    double sxx = 0;
    double syy = 0;
    for (int i = 0; i < decisions; i++) {
      sxy += (sig[i] - mx) * (split[i] - my);
      sxx += (sig[i] - mx) * (sig[i] - mx);
      syy += (split[i] - my) * (split[i] - my);
    }
    double slope = sxy / sxx;
    double r2 = syy == 0 ? 0 : sxy * sxy / (sxx * syy);
    // binned means (10 bins over the σ range)
    int bins = 10;
    double lo = cp.env().sigmaMin();
    double hi = cp.env().sigmaMax();
    double[] bx = new double[bins];
    double[] by = new double[bins];
    int[] bn = new int[bins];
    for (int i = 0; i < decisions; i++) {
      int b = Math.min(bins - 1, (int) ((sig[i] - lo) / (hi - lo) * bins));
      by[b] += split[i];
      bn[b]++;
    }
    for (int b = 0; b < bins; b++) {
      bx[b] = lo + (b + 0.5) * (hi - lo) / bins;
      by[b] = bn[b] == 0 ? Double.NaN : by[b] / bn[b];
    }
    XYChart chart =
        new XYChartBuilder()
            .width(900)
            .height(500)
            .title(
                String.format(
                    Locale.ROOT,
                    "Split decisions vs noise (case %s): slope %.2f layers per unit σ, R² %.2f",
                    channelCase,
                    slope,
                    r2))
            .xAxisTitle("noise σ")
            .yAxisTitle("split point p")
            .build();
    chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
    chart.addSeries("decisions", sig, split).setMarker(SeriesMarkers.CIRCLE);
    XYSeries trend = chart.addSeries("binned mean", bx, by);
    trend.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
    Common.save(chart, out);
    Path csv = Path.of(out.toString().replaceAll("\\.png$", "") + ".csv");
    try (Writer w = Files.newBufferedWriter(csv)) {
      w.write("sigma,split\n");
      for (int i = 0; i < decisions; i++) {
        w.write(String.format(Locale.ROOT, "%.6f,%d%n", sig[i], (int) split[i]));
      }
    }
    System.out.printf(
        Locale.ROOT,
        "%d decisions: slope %.3f layers per unit σ (R² %.3f); binned means %s%nwrote %s, %s%n",
        decisions,
        slope,
        r2,
        java.util.Arrays.toString(
            java.util.Arrays.stream(by).map(v -> Math.round(v * 100) / 100.0).toArray()),
        out,
        csv);
    return 0;
  }
}
