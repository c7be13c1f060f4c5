package io.splitinfer.controller.cli;

import io.splitinfer.controller.baseline.DqnTrainer;
import io.splitinfer.controller.baseline.EpisodePolicy;
import io.splitinfer.controller.baseline.Evaluation;
import io.splitinfer.controller.baseline.Oracle;
import io.splitinfer.controller.baseline.Policies;
import io.splitinfer.controller.env.ChannelCase;
import io.splitinfer.controller.env.SplitEnvironment;
import io.splitinfer.controller.ppo.PpoConfig;
import io.splitinfer.controller.ppo.PpoTrainer;
import io.splitinfer.controller.reward.SurrogateReward;
import io.splitinfer.core.objective.Objective;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.function.LongFunction;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code controller compare}: the paper's Fig. 5, PPO vs A2C vs DQN training curves per case. */
@Command(
    name = "compare",
    aliases = "plot-curves",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description =
        "Train PPO, A2C and DQN (same seed, same environment seed) on each case with rewards from"
            + " the surrogate and plot their mean-episode-reward curves (the paper's Fig. 5):"
            + " OUT/curves-<case>.png and .csv, plus OUT/compare-summary.csv (final training"
            + " reward, wall time, greedy evaluation against the oracle).")
public final class CompareCommand implements Callable<Integer> {
  static final List<String> ALGORITHMS = List.of("ppo", "a2c", "dqn");

  @Option(names = "--case", description = "L, H, A, S or all (= L, H, A)", defaultValue = "all")
  String channelCase;

  @Option(
      names = "--algorithms",
      split = ",",
      description = "subset of ppo, a2c, dqn",
      defaultValue = "ppo,a2c,dqn")
  List<String> algorithms;

  @Option(names = "--surrogate-file", description = "default: the jar's", defaultValue = "")
  String surrogateFile;

  @Option(names = "--steps", defaultValue = "24000")
  int steps;

  @Option(names = "--seed", defaultValue = "1")
  long seed;

  @Option(names = "--lambda", description = "λ of eq. 7", defaultValue = Common.DEFAULT_LAMBDA)
  double lambda;

  @Option(
      names = "--window",
      description = "environment steps per curve point (PPO's rollout: 400)",
      defaultValue = "400")
  int window;

  @Option(
      names = "--smooth",
      description =
          "plotted curve: trailing mean over this many windows (1: raw); the CSV has both",
      defaultValue = "5")
  int smooth;

  @Option(
      names = "--episodes",
      description = "greedy evaluation episodes per trained agent (0: skip)",
      defaultValue = "2000")
  int episodes;

  @Option(names = "--out", defaultValue = "controller-out/compare")
  Path out;

  /** One algorithm's run on one case. */
  public record Run(
      String algorithm,
      List<PpoTrainer.CurvePoint> curve,
      double seconds,
      EpisodePolicy greedy,
      double evalMean) {
    public double finalReward() {
      return curve.get(curve.size() - 1).meanEpisodeReward();
    }

    /** Episode-weighted mean training reward over the last {@code points} curve points. */
    public double tailMean(int points) {
      double sum = 0;
      int n = 0;
      for (PpoTrainer.CurvePoint p :
          curve.subList(Math.max(0, curve.size() - points), curve.size())) {
        sum += p.meanEpisodeReward() * p.episodes();
        n += p.episodes();
      }
      return n == 0 ? Double.NaN : sum / n;
    }
  }

  @Override
  public Integer call() throws Exception {
    if (smooth < 1 || window < 1 || steps < window) {
      System.err.println("error: need --smooth >= 1, --window >= 1 and --steps >= --window");
      return 2;
    }
    for (String a : algorithms) {
      if (!ALGORITHMS.contains(a)) {
        System.err.println("error: unknown algorithm '" + a + "' (ppo, a2c, dqn)");
        return 2;
      }
    }
    List<ChannelCase> cases =
        "all".equalsIgnoreCase(channelCase.trim())
            ? List.of(ChannelCase.L, ChannelCase.H, ChannelCase.A)
            : List.of(ChannelCase.parse(channelCase));
    SurrogateReward s = Common.surrogate(surrogateFile);
    Objective o = Common.objective(s, lambda);
    Files.createDirectories(out);
    List<String> summary = new ArrayList<>();
    summary.add(
        "case,algorithm,steps,seed,final_mean_episode_reward,last10pct_mean_episode_reward,"
            + "wall_s,greedy_eval_mean,oracle_eval_mean,greedy_gap_to_oracle_percent,"
            + "eval_episodes");
    int tailPoints = Math.max(1, steps / window / 10);
    System.out.printf(
        Locale.ROOT,
        "%-4s %-4s %14s %14s %8s %12s %10s%n",
        "case",
        "alg",
        "final reward",
        "last 10%",
        "wall s",
        "greedy eval",
        "vs oracle");
    for (ChannelCase c : cases) {
      LongFunction<SplitEnvironment> envs = Common.envs(s, s, c, o);
      long evalSeed = 777_000 + c.ordinal(); // the same episodes as `evaluate`
      double oracle =
          episodes > 0 ? Evaluation.evaluate(new Oracle(), envs, evalSeed, episodes).mean() : 0;
      List<Run> runs = new ArrayList<>();
      for (String a : algorithms) {
        Run r = train(a, envs.apply(seed + 1000), steps, seed, window);
        double eval =
            episodes > 0 ? Evaluation.evaluate(r.greedy(), envs, evalSeed, episodes).mean() : 0;
        r = new Run(r.algorithm(), r.curve(), r.seconds(), r.greedy(), eval);
        runs.add(r);
        double gap = episodes > 0 ? (eval - oracle) / Math.abs(oracle) * 100 : Double.NaN;
        System.out.printf(
            Locale.ROOT,
            "%-4s %-4s %14.2f %14.2f %8.1f %12.2f %+9.2f%%%n",
            c,
            a,
            r.finalReward(),
            r.tailMean(tailPoints),
            r.seconds(),
            eval,
            gap);
        summary.add(
            String.format(
                Locale.ROOT,
                "%s,%s,%d,%d,%.4f,%.4f,%.2f,%.4f,%.4f,%.3f,%d",
                c,
                a,
                steps,
                seed,
                r.finalReward(),
                r.tailMean(tailPoints),
                r.seconds(),
                eval,
                oracle,
                gap,
                episodes));
      }
      writeCurves(c, runs, episodes > 0 ? oracle : Double.NaN);
    }
    Path csv = out.resolve("compare-summary.csv");
    Files.write(csv, summary);
    System.out.println("wrote " + csv + " and curves-<case>.png/.csv under " + out);
    return 0;
  }

  /** Trains one algorithm; its curve is re-binned to one point per {@code window} steps. */
  public static Run train(
      String algorithm, SplitEnvironment env, int steps, long seed, int window) {
    long t0 = System.nanoTime();
    List<PpoTrainer.CurvePoint> curve;
    EpisodePolicy greedy;
    if ("dqn".equals(algorithm)) {
      DqnTrainer dqn = new DqnTrainer(DqnTrainer.Config.defaults(steps, seed), 3, 3);
      curve = dqn.train(env, window);
      greedy = Policies.greedyQ("dqn", dqn.qNetwork());
    } else {
      PpoConfig cfg =
          "a2c".equals(algorithm)
              ? PpoConfig.a2c(steps, seed)
              : PpoConfig.defaults().withTotalSteps(steps).withSeed(seed);
      PpoTrainer t = new PpoTrainer(cfg, 3, 3);
      curve = t.train(env, null);
      greedy = Policies.greedy(algorithm, t.agent());
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    return new Run(algorithm, rebin(curve, window), seconds, greedy, Double.NaN);
  }

  /**
   * One point per {@code window} environment steps: the episode-weighted mean of the points whose
   * step count falls in ((k−1)·window, k·window], at x = k·window (A2C reports every 5 steps).
   * Windows without a finished episode are dropped.
   */
  public static List<PpoTrainer.CurvePoint> rebin(List<PpoTrainer.CurvePoint> curve, int window) {
    List<PpoTrainer.CurvePoint> binned = new ArrayList<>();
    int bin = -1;
    double sum = 0;
    int n = 0;
    for (PpoTrainer.CurvePoint p : curve) {
      int b = (p.steps() + window - 1) / window;
      if (b != bin) {
        if (n > 0) {
          binned.add(new PpoTrainer.CurvePoint(bin * window, sum / n, n));
        }
        bin = b;
        sum = 0;
        n = 0;
      }
      if (p.episodes() > 0 && !Double.isNaN(p.meanEpisodeReward())) {
        sum += p.meanEpisodeReward() * p.episodes();
        n += p.episodes();
      }
    }
    if (n > 0) {
      binned.add(new PpoTrainer.CurvePoint(bin * window, sum / n, n));
    }
    return binned;
  }

  /** Trailing episode-weighted mean over {@code k} points (the first k−1 over what there is). */
  public static List<PpoTrainer.CurvePoint> smooth(List<PpoTrainer.CurvePoint> curve, int k) {
    List<PpoTrainer.CurvePoint> out = new ArrayList<>();
    for (int i = 0; i < curve.size(); i++) {
      double sum = 0;
      int n = 0;
      for (PpoTrainer.CurvePoint p : curve.subList(Math.max(0, i - k + 1), i + 1)) {
        sum += p.meanEpisodeReward() * p.episodes();
        n += p.episodes();
      }
      out.add(new PpoTrainer.CurvePoint(curve.get(i).steps(), sum / n, n));
    }
    return out;
  }

  private void writeCurves(ChannelCase c, List<Run> runs, double oracle) throws Exception {
    Path csv = out.resolve("curves-" + c + ".csv");
    try (Writer w = Files.newBufferedWriter(csv)) {
      w.write("case,algorithm,steps,mean_episode_reward,episodes,smoothed_mean_episode_reward\n");
      for (Run r : runs) {
        List<PpoTrainer.CurvePoint> sm = smooth(r.curve(), smooth);
        for (int i = 0; i < r.curve().size(); i++) {
          PpoTrainer.CurvePoint p = r.curve().get(i);
          w.write(
              String.format(
                  Locale.ROOT,
                  "%s,%s,%d,%.6f,%d,%.6f%n",
                  c,
                  r.algorithm(),
                  p.steps(),
                  p.meanEpisodeReward(),
                  p.episodes(),
                  sm.get(i).meanEpisodeReward()));
        }
      }
    }
    XYChart chart =
        new XYChartBuilder()
            .width(900)
            .height(500)
            .title(
                String.format(
                    Locale.ROOT,
                    "Training curves, case %s (surrogate rewards, λ = %s, seed %d)",
                    c,
                    lambda,
                    seed))
            .xAxisTitle("environment steps")
            .yAxisTitle(
                smooth > 1
                    ? "mean episode reward (last " + smooth * window + " steps)"
                    : "mean episode reward (per " + window + " steps)")
            .build();
    chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
    chart.getStyler().setLegendLayout(org.knowm.xchart.style.Styler.LegendLayout.Horizontal);
    for (Run r : runs) {
      List<PpoTrainer.CurvePoint> sm = smooth(r.curve(), smooth);
      double[] xs = sm.stream().mapToDouble(PpoTrainer.CurvePoint::steps).toArray();
      double[] ys = sm.stream().mapToDouble(PpoTrainer.CurvePoint::meanEpisodeReward).toArray();
      XYSeries series = chart.addSeries(r.algorithm().toUpperCase(Locale.ROOT), xs, ys);
      series.setMarker(SeriesMarkers.NONE);
    }
    if (!Double.isNaN(oracle) && !runs.isEmpty()) {
      XYSeries o =
          chart.addSeries(
              "oracle (" + episodes + " eval episodes)",
              new double[] {0, steps},
              new double[] {oracle, oracle});
      o.setMarker(SeriesMarkers.NONE);
      o.setLineStyle(SeriesLines.DASH_DASH);
    }
    Common.save(chart, out.resolve("curves-" + c + ".png"));
  }
}
