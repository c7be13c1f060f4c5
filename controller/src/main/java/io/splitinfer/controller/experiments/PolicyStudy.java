package io.splitinfer.controller.experiments;

import io.splitinfer.controller.baseline.EpisodePolicy;
import io.splitinfer.controller.baseline.Evaluation;
import io.splitinfer.controller.baseline.Oracle;
import io.splitinfer.controller.baseline.Policies;
import io.splitinfer.controller.cli.CompareCommand;
import io.splitinfer.controller.env.ChannelCase;
import io.splitinfer.controller.env.ChannelDraw;
import io.splitinfer.controller.env.SplitEnvironment;
import io.splitinfer.controller.live.PplTable;
import io.splitinfer.controller.ppo.ActorCritic;
import io.splitinfer.controller.ppo.PpoCheckpoint;
import io.splitinfer.controller.ppo.PpoConfig;
import io.splitinfer.controller.ppo.PpoTrainer;
import io.splitinfer.controller.reward.RewardSource;
import io.splitinfer.controller.reward.SurrogateReward;
import io.splitinfer.core.objective.Objective;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.LongFunction;

/**
 * Table IV and Fig. 6 on case A. PPO is trained three ways: on the surrogate, on the measured
 * records themselves (the {@code oracle-table}'s {@link PplTable}, bilinear between grid points:
 * "measured rewards" without a model of them), and on rewards measured live through the in-process
 * pipeline ({@link LinkPpl}) for a fixed budget of steps whose wall time is extrapolated to the
 * full run. Each run reports wall time and the peak JVM heap. Fig. 6 is the distribution of episode
 * rewards, on the measured table, of PPO (table), PPO (surrogate), random and untrained.
 */
final class PolicyStudy {
  private final Plan plan;
  private final Progress progress;
  private final Path out;
  private final SurrogateReward surrogate;
  private final Objective objective;

  /** A training run and its cost. */
  record Trained(
      String source,
      ActorCritic agent,
      List<PpoTrainer.CurvePoint> curve,
      int steps,
      double seconds,
      double peakHeapMb) {}

  PolicyStudy(Plan plan, Progress progress, Path out, SurrogateReward s, Objective o) {
    this.plan = plan;
    this.progress = progress;
    this.out = out;
    this.surrogate = s;
    this.objective = o;
  }

  long units() {
    return 2 + 4 + plan.measuredSteps();
  }

  static RewardSource tableReward(PplTable table) {
    return new RewardSource() {
      @Override
      public double ppl(double sigma, double sigmaH, int split) {
        return table.ppl(sigma, PplTable.lossOf(sigmaH), split);
      }

      @Override
      public String name() {
        return "ppl-table";
      }
    };
  }

  /** PPL measured live for every step (a fresh channel seed per measurement). */
  RewardSource liveReward(LinkPpl link) {
    return new RewardSource() {
      private long seed;

      @Override
      public double ppl(double sigma, double sigmaH, int split) {
        double loss = ChannelDraw.lossForSigmaH(sigmaH, 1.0);
        boolean lossy = loss > 1e-3;
        var c =
            new Fig3Study.Cond(
                "train", sigma, Double.NaN, lossy ? loss : 0, lossy ? "equalized" : "none");
        double v = link.ppl(c.params(), split, ++seed);
        progress.step("table IV: measured-reward step " + seed);
        return v;
      }

      @Override
      public String name() {
        return "measured";
      }
    };
  }

  private LongFunction<SplitEnvironment> envs(RewardSource r) {
    return seed -> new SplitEnvironment(surrogate.env(), ChannelCase.A, r, objective, seed);
  }

  Trained train(String source, RewardSource reward, int steps) {
    PpoConfig d = PpoConfig.defaults();
    int rollout = Math.min(d.rolloutSteps(), steps);
    PpoConfig cfg =
        new PpoConfig(
            d.learningRate(),
            d.gamma(),
            d.clipCoef(),
            rollout,
            Math.min(d.minibatchSize(), rollout),
            d.gaeLambda(),
            d.updateEpochs(),
            d.entCoef(),
            d.vfCoef(),
            d.maxGradNorm(),
            d.normalizeAdvantages(),
            d.annealLr(),
            d.hidden(),
            steps,
            1);
    System.gc();
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        p.resetPeakUsage();
      }
    }
    long t0 = System.nanoTime();
    PpoTrainer t = new PpoTrainer(cfg, 3, 3);
    List<PpoTrainer.CurvePoint> curve = t.train(envs(reward).apply(1001), null);
    double secs = (System.nanoTime() - t0) / 1e9;
    double peak = 0;
    for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
      if (p.getType() == MemoryType.HEAP) {
        peak += p.getPeakUsage().getUsed();
      }
    }
    return new Trained(source, t.agent(), curve, steps, secs, peak / 1e6);
  }

  /**
   * Runs Table IV and Fig. 6; returns Markdown. Saves the surrogate-trained policy to {@code cp}.
   */
  String run(PplTable table, LinkPpl link, Path cp) throws IOException {
    RewardSource tab = tableReward(table);
    Trained sur = train("surrogate", surrogate, plan.steps());
    progress.step("table IV: PPO on the surrogate");
    Trained tbl = train("measured table", tab, plan.steps());
    progress.step("table IV: PPO on the measured table");
    Trained live =
        train("measured live (in-process pipeline)", liveReward(link), plan.measuredSteps());
    PpoCheckpoint.of(
            "ppo",
            surrogate.modelId(),
            "A",
            objective.lambda(),
            objective.cost().inputLength(),
            objective.cost().hiddenSize(),
            surrogate.env(),
            PpoConfig.defaults().withTotalSteps(plan.steps()),
            plan.steps(),
            "surrogate",
            sur.agent(),
            surrogate.weightFormat())
        .save(cp);
    long evalSeed = 777_000 + ChannelCase.A.ordinal();
    LongFunction<SplitEnvironment> evalEnvs = envs(tab);
    double oracle = Evaluation.evaluate(new Oracle(), evalEnvs, evalSeed, plan.episodes()).mean();
    List<EpisodePolicy> policies =
        List.of(
            Policies.greedy("PPO (measured table)", tbl.agent()),
            Policies.greedy("PPO (surrogate)", sur.agent()),
            Policies.random(1),
            Policies.greedy("untrained", ActorCritic.create(3, 3, 64, 1)));
    List<String> names = new ArrayList<>();
    List<double[]> data = new ArrayList<>();
    StringBuilder md =
        new StringBuilder(
            String.format(
                Locale.ROOT,
                "### Fig. 6 (case A, %d evaluation episodes on the measured table, episode reward"
                    + " = Σ over 5 steps of −(PPL + %s·Ĉ_UE))%n%n| policy | mean ± 95 %% CI |"
                    + " median | quartiles | vs oracle |%n|---|---:|---:|---:|---:|%n",
                plan.episodes(),
                Fig3Study.num(objective.lambda())));
    for (EpisodePolicy p : policies) {
      double[] r = Evaluation.evaluate(p, evalEnvs, evalSeed, plan.episodes()).rewards();
      progress.step("fig6: " + p.name());
      names.add(p.name());
      data.add(r);
      double[] s = r.clone();
      Arrays.sort(s);
      Stats st = Stats.of(r);
      md.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %.1f | %.1f … %.1f | %+.2f %% |%n",
              p.name(),
              st.pm(1),
              s[s.length / 2],
              s[s.length / 4],
              s[3 * s.length / 4],
              (st.mean() - oracle) / Math.abs(oracle) * 100));
    }
    md.append(String.format(Locale.ROOT, "| oracle (on the table) | %.1f | | | |%n", oracle));
    Charts.boxes(
        out.resolve("fig6-rewards.png"),
        "Episode rewards on case A (" + plan.episodes() + " episodes, measured-table rewards)",
        "episode reward",
        names,
        data);
    md.append(tableIv(List.of(sur, tbl, live), evalEnvs, evalSeed));
    return md.toString();
  }

  private String tableIv(List<Trained> runs, LongFunction<SplitEnvironment> evalEnvs, long seed) {
    StringBuilder md =
        new StringBuilder(
            String.format(
                Locale.ROOT,
                "%n### Table IV (PPO, case A, seed 1; target %d steps)%n%n| rewards from | steps"
                    + " run | wall s | wall for %d steps | peak JVM heap MB | mean episode reward,"
                    + " last 10 %% of training | greedy eval on the measured table |%n"
                    + "|---|---:|---:|---:|---:|---:|---:|%n",
                plan.steps(),
                plan.steps()));
    for (Trained t : runs) {
      boolean partial = t.steps() < plan.steps();
      double full = t.seconds() * plan.steps() / t.steps();
      double eval =
          Evaluation.evaluate(
                  Policies.greedy("ppo", t.agent()), evalEnvs, seed, Math.min(plan.episodes(), 500))
              .mean();
      md.append(
          String.format(
              Locale.ROOT,
              "| %s | %d | %.1f | %s | %.0f | %.1f | %s |%n",
              t.source(),
              t.steps(),
              t.seconds(),
              partial
                  ? String.format(
                      Locale.ROOT, "**%.0f s = %.1f h (extrapolated)**", full, full / 3600)
                  : String.format(Locale.ROOT, "%.1f s", full),
              t.peakHeapMb(),
              TrainingStudy.tail(
                  CompareCommand.rebin(t.curve(), Math.min(400, t.steps())),
                  Math.max(1, t.steps() / 400 / 10)),
              partial
                  ? String.format(Locale.ROOT, "%.1f (after %d steps only)", eval, t.steps())
                  : String.format(Locale.ROOT, "%.1f", eval)));
    }
    md.append(
        "| paper: real rewards | 24k | | > 24 days | 16.3 GB | 2.9736 | |\n"
            + "| paper: surrogate | 24k | | 7.7 min | < 1 GB | 2.9663 | |\n");
    return md.toString();
  }
}
