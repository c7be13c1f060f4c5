package io.splitinfer.controller.experiments;

import io.splitinfer.controller.baseline.Evaluation;
import io.splitinfer.controller.baseline.Oracle;
import io.splitinfer.controller.baseline.Policies;
import io.splitinfer.controller.cli.CompareCommand;
import io.splitinfer.controller.env.ChannelCase;
import io.splitinfer.controller.env.SplitEnvironment;
import io.splitinfer.controller.ppo.PpoConfig;
import io.splitinfer.controller.ppo.PpoTrainer;
import io.splitinfer.controller.reward.SurrogateReward;
import io.splitinfer.core.objective.Objective;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * Fig. 5 (PPO, A2C and DQN training curves per case over several seeds: mean and 95 % band) and
 * Fig. 8 (PPO on case A under sweeps of learning rate, minibatch size, clip range and GAE λ), all
 * on the surrogate's rewards, through {@code compare}'s training loop ({@link
 * CompareCommand#train}). Training seed s uses environment seed s + 1000 (as {@code compare}); the
 * greedy evaluation uses {@code evaluate}'s episodes (seed 777 000 + case).
 */
final class TrainingStudy {
  static final int WINDOW = 400;
  static final int SMOOTH = 5;

  /** The Fig. 8 sweeps; the first value of each is Table III's default. */
  static final Map<String, double[]> SWEEPS = new LinkedHashMap<>();

  static {
    SWEEPS.put("learning rate", new double[] {3e-4, 1e-4, 1e-3, 3e-3});
    SWEEPS.put("minibatch size", new double[] {100, 50, 200, 400});
    SWEEPS.put("clip range", new double[] {0.2, 0.1, 0.3, 0.5});
    SWEEPS.put("GAE lambda", new double[] {0.95, 0.8, 0.9, 1.0});
  }

  private final Plan plan;
  private final Progress progress;
  private final Path out;
  private final SurrogateReward surrogate;
  private final Objective objective;

  TrainingStudy(Plan plan, Progress progress, Path out, SurrogateReward s, Objective o) {
    this.plan = plan;
    this.progress = progress;
    this.out = out;
    this.surrogate = s;
    this.objective = o;
  }

  List<ChannelCase> cases() {
    List<ChannelCase> c = new ArrayList<>();
    for (String s : plan.cases().split(",")) {
      c.add(ChannelCase.parse(s));
    }
    return c;
  }

  long fig5Units() {
    return (long) cases().size() * 3 * plan.trainSeeds();
  }

  long fig8Units() {
    return (long) (1 + SWEEPS.size() * (plan.sweepValues() - 1)) * plan.trainSeeds();
  }

  private LongFunction<SplitEnvironment> envs(ChannelCase c) {
    return seed -> new SplitEnvironment(surrogate.env(), c, surrogate, objective, seed);
  }

  String fig5() throws IOException {
    StringBuilder md =
        new StringBuilder(
            String.format(
                Locale.ROOT,
                "### Fig. 5 (surrogate rewards, λ = %s, %d steps, seeds 1..%d, mean ± 95 %% CI)%n%n"
                    + "| case | algorithm | last 10 %% of training | greedy eval (%d episodes) |"
                    + " vs oracle | wall s per run |%n|---|---|---:|---:|---:|---:|%n",
                Fig3Study.num(objective.lambda()),
                plan.steps(),
                plan.trainSeeds(),
                plan.episodes()));
    try (PrintWriter csv = new PrintWriter(Files.newBufferedWriter(out.resolve("fig5.csv")))) {
      csv.println("case,algorithm,seed,steps,mean_episode_reward,episodes");
      PrintWriter sum = new PrintWriter(Files.newBufferedWriter(out.resolve("fig5-summary.csv")));
      sum.println("case,algorithm,seed,last10_train,greedy_eval,oracle_eval,wall_s");
      for (ChannelCase c : cases()) {
        long evalSeed = 777_000 + c.ordinal();
        double oracle =
            Evaluation.evaluate(new Oracle(), envs(c), evalSeed, plan.episodes()).mean();
        List<String> names = new ArrayList<>();
        List<double[]> xs = new ArrayList<>();
        List<double[][]> bands = new ArrayList<>();
        for (String a : List.of("ppo", "a2c", "dqn")) {
          List<List<PpoTrainer.CurvePoint>> curves = new ArrayList<>();
          double[] tail = new double[plan.trainSeeds()];
          double[] eval = new double[plan.trainSeeds()];
          double[] wall = new double[plan.trainSeeds()];
          for (int s = 1; s <= plan.trainSeeds(); s++) {
            CompareCommand.Run r =
                CompareCommand.train(a, envs(c).apply(s + 1000), plan.steps(), s, WINDOW);
            curves.add(r.curve());
            for (PpoTrainer.CurvePoint p : r.curve()) {
              csv.printf(
                  Locale.ROOT,
                  "%s,%s,%d,%d,%.5f,%d%n",
                  c,
                  a,
                  s,
                  p.steps(),
                  p.meanEpisodeReward(),
                  p.episodes());
            }
            tail[s - 1] = r.tailMean(Math.max(1, plan.steps() / WINDOW / 10));
            eval[s - 1] =
                Evaluation.evaluate(r.greedy(), envs(c), evalSeed, plan.episodes()).mean();
            wall[s - 1] = r.seconds();
            sum.printf(
                Locale.ROOT,
                "%s,%s,%d,%.4f,%.4f,%.4f,%.2f%n",
                c,
                a,
                s,
                tail[s - 1],
                eval[s - 1],
                oracle,
                wall[s - 1]);
            progress.step("fig5: case " + c + " " + a + " seed " + s);
          }
          names.add(a.toUpperCase(Locale.ROOT));
          double[][] band = band(curves);
          xs.add(band[3]);
          bands.add(new double[][] {band[0], band[1], band[2]});
          Stats e = Stats.of(eval);
          md.append(
              String.format(
                  Locale.ROOT,
                  "| %s | %s | %s | %s | %+.2f %% | %.1f |%n",
                  c,
                  a.toUpperCase(Locale.ROOT),
                  Stats.of(tail).pm(1),
                  e.pm(1),
                  (e.mean() - oracle) / Math.abs(oracle) * 100,
                  Stats.of(wall).mean()));
        }
        names.add("oracle (greedy eval)");
        double[] x = xs.get(0);
        double[] o = new double[x.length];
        java.util.Arrays.fill(o, oracle);
        xs.add(x);
        bands.add(new double[][] {o, o, o});
        Charts.bands(
            out.resolve("fig5-" + c + ".png"),
            String.format(
                Locale.ROOT,
                "Case %s: mean episode reward (trailing %d steps), mean and 95 %% band over %d seeds",
                c,
                SMOOTH * WINDOW,
                plan.trainSeeds()),
            "environment steps",
            "mean episode reward",
            names,
            xs,
            bands);
        md.append(String.format(Locale.ROOT, "| %s | oracle | | %.1f | | |%n", c, oracle));
      }
      sum.close();
    }
    return md.toString();
  }

  /**
   * Mean and 95 % band over seeds of the smoothed curves, on the steps all seeds share: {mean, lo,
   * hi, x}.
   */
  static double[][] band(List<List<PpoTrainer.CurvePoint>> curves) {
    int len = curves.stream().mapToInt(List::size).min().orElse(0);
    double[][] r = new double[4][len];
    List<List<PpoTrainer.CurvePoint>> sm = new ArrayList<>();
    for (List<PpoTrainer.CurvePoint> c : curves) {
      sm.add(CompareCommand.smooth(c, SMOOTH));
    }
    for (int i = 0; i < len; i++) {
      double[] v = new double[sm.size()];
      for (int k = 0; k < sm.size(); k++) {
        v[k] = sm.get(k).get(i).meanEpisodeReward();
      }
      Stats st = Stats.of(v);
      r[0][i] = st.mean();
      r[1][i] = st.lo();
      r[2][i] = st.hi();
      r[3][i] = sm.get(0).get(i).steps();
    }
    return r;
  }

  static PpoConfig sweepConfig(String param, double v, int steps, long seed) {
    PpoConfig d = PpoConfig.defaults();
    return new PpoConfig(
        param.equals("learning rate") ? v : d.learningRate(),
        d.gamma(),
        param.equals("clip range") ? v : d.clipCoef(),
        d.rolloutSteps(),
        param.equals("minibatch size") ? (int) v : d.minibatchSize(),
        param.equals("GAE lambda") ? v : d.gaeLambda(),
        d.updateEpochs(),
        d.entCoef(),
        d.vfCoef(),
        d.maxGradNorm(),
        d.normalizeAdvantages(),
        d.annealLr(),
        d.hidden(),
        steps,
        seed);
  }

  String fig8() throws IOException {
    ChannelCase c = ChannelCase.A;
    long evalSeed = 777_000 + c.ordinal();
    StringBuilder md =
        new StringBuilder(
            String.format(
                Locale.ROOT,
                "### Fig. 8 (PPO, case A, %d steps, seeds 1..%d; greedy eval over %d episodes, mean"
                    + " ± 95 %% CI; first value = Table III default)%n%n| parameter | value |"
                    + " last 10 %% of training | greedy eval |%n|---|---:|---:|---:|%n",
                plan.steps(),
                plan.trainSeeds(),
                plan.episodes()));
    Map<Integer, Object[]> defaultRuns = new java.util.HashMap<>();
    try (PrintWriter csv = new PrintWriter(Files.newBufferedWriter(out.resolve("fig8.csv")))) {
      csv.println("parameter,value,seed,last10_train,greedy_eval");
      for (Map.Entry<String, double[]> sw : SWEEPS.entrySet()) {
        List<String> names = new ArrayList<>();
        List<double[]> xs = new ArrayList<>();
        List<double[][]> bands = new ArrayList<>();
        for (int k = 0; k < plan.sweepValues(); k++) {
          double v = sw.getValue()[k];
          List<List<PpoTrainer.CurvePoint>> curves = new ArrayList<>();
          double[] tail = new double[plan.trainSeeds()];
          double[] eval = new double[plan.trainSeeds()];
          for (int s = 1; s <= plan.trainSeeds(); s++) {
            Object[] run = k == 0 ? defaultRuns.get(s) : null;
            if (run == null) {
              PpoTrainer t = new PpoTrainer(sweepConfig(sw.getKey(), v, plan.steps(), s), 3, 3);
              List<PpoTrainer.CurvePoint> curve =
                  CompareCommand.rebin(t.train(envs(c).apply(s + 1000), null), WINDOW);
              double e =
                  Evaluation.evaluate(
                          Policies.greedy("ppo", t.agent()), envs(c), evalSeed, plan.episodes())
                      .mean();
              run = new Object[] {curve, e};
              if (k == 0) {
                defaultRuns.put(s, run);
              }
              progress.step("fig8: " + sw.getKey() + " " + v + " seed " + s);
            }
            @SuppressWarnings("unchecked")
            List<PpoTrainer.CurvePoint> curve = (List<PpoTrainer.CurvePoint>) run[0];
            curves.add(curve);
            tail[s - 1] = tail(curve, Math.max(1, plan.steps() / WINDOW / 10));
            eval[s - 1] = (double) run[1];
            csv.printf(
                Locale.ROOT,
                "%s,%s,%d,%.4f,%.4f%n",
                sw.getKey(),
                Fig3Study.num(v),
                s,
                tail[s - 1],
                eval[s - 1]);
          }
          double[][] b = band(curves);
          names.add(sw.getKey() + " = " + Fig3Study.num(v));
          xs.add(b[3]);
          bands.add(new double[][] {b[0], b[1], b[2]});
          md.append(
              String.format(
                  Locale.ROOT,
                  "| %s | %s | %s | %s |%n",
                  sw.getKey(),
                  Fig3Study.num(v),
                  Stats.of(tail).pm(1),
                  Stats.of(eval).pm(1)));
        }
        Charts.bands(
            out.resolve("fig8-" + sw.getKey().replace(' ', '-') + ".png"),
            "PPO, case A: "
                + sw.getKey()
                + " (mean and 95 % band over "
                + plan.trainSeeds()
                + " seeds)",
            "environment steps",
            "mean episode reward (trailing " + SMOOTH * WINDOW + " steps)",
            names,
            xs,
            bands);
      }
    }
    return md.toString();
  }

  static double tail(List<PpoTrainer.CurvePoint> curve, int points) {
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
