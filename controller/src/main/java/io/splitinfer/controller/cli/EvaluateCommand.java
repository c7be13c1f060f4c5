package io.splitinfer.controller.cli;

import io.splitinfer.controller.baseline.Evaluation;
import io.splitinfer.controller.baseline.Oracle;
import io.splitinfer.controller.baseline.Policies;
import io.splitinfer.controller.env.ChannelCase;
import io.splitinfer.controller.env.SplitEnvironment;
import io.splitinfer.controller.ppo.ActorCritic;
import io.splitinfer.controller.ppo.PpoCheckpoint;
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
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code controller evaluate}: PPO vs baselines on every case. */
@Command(
    name = "evaluate",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description =
        "Mean episode reward of PPO vs random, untrained, best fixed split and the oracle on cases"
            + " L, H, A (rewards from the surrogate). Uses DIR/ppo-<case>.json when present,"
            + " otherwise trains it (seeded) and saves it there.")
final class EvaluateCommand implements Callable<Integer> {
  @Option(names = "--surrogate-file", defaultValue = "")
  String surrogateFile;

  @Option(names = "--dir", defaultValue = "controller-out")
  Path dir;

  @Option(names = "--episodes", defaultValue = "2000")
  int episodes;

  @Option(
      names = "--steps",
      description = "training steps when a checkpoint is missing",
      defaultValue = "24000")
  int steps;

  @Option(
      names = "--privacy-floor",
      defaultValue = "0",
      description = "smallest split the environment may take (privacy floor; 0: none)")
  int privacyFloor;

  @Option(names = "--seed", defaultValue = "1")
  long seed;

  @Option(names = "--lambda", defaultValue = Common.DEFAULT_LAMBDA)
  double lambda;

  @Override
  public Integer call() throws Exception {
    SurrogateReward s = Common.surrogate(surrogateFile);
    Objective o = Common.objective(s, lambda);
    Files.createDirectories(dir);
    List<String> rows = new ArrayList<>();
    System.out.printf(
        Locale.ROOT,
        "%-5s %-12s %12s %10s %12s%n",
        "case",
        "policy",
        "mean reward",
        "std",
        "vs oracle");
    for (ChannelCase c : ChannelCase.values()) {
      LongFunction<SplitEnvironment> envs = Common.envs(s, s, c, o, privacyFloor);
      Path cpFile = dir.resolve("ppo-" + c + ".json");
      ActorCritic agent;
      String trainNote = "";
      if (Files.exists(cpFile)) {
        agent = PpoCheckpoint.load(cpFile).agent();
      } else {
        PpoConfig cfg = PpoConfig.defaults().withTotalSteps(steps).withSeed(seed);
        PpoTrainer t = new PpoTrainer(cfg, 3, 3);
        long t0 = System.nanoTime();
        t.train(envs.apply(seed + 1000), null);
        trainNote =
            String.format(
                Locale.ROOT,
                " (trained %d steps in %.1f s)",
                steps,
                (System.nanoTime() - t0) / 1e9);
        agent = t.agent();
        PpoCheckpoint.of(
                "ppo",
                s.modelId(),
                c.name(),
                lambda,
                o.cost().inputLength(),
                o.cost().hiddenSize(),
                s.env(),
                cfg,
                steps,
                "surrogate",
                agent,
                s.weightFormat())
            .save(cpFile);
      }
      long evalSeed = 777_000 + c.ordinal();
      int fixed = Evaluation.bestFixedSplit(envs.apply(evalSeed + 1), 500);
      List<Evaluation.Result> results =
          List.of(
              Evaluation.evaluate(Policies.greedy("ppo", agent), envs, evalSeed, episodes),
              Evaluation.evaluate(Policies.random(seed), envs, evalSeed, episodes),
              Evaluation.evaluate(
                  Policies.greedy("untrained", ActorCritic.create(3, 3, 64, seed)),
                  envs,
                  evalSeed,
                  episodes),
              Evaluation.evaluate(Policies.fixedSplit(fixed), envs, evalSeed, episodes),
              Evaluation.evaluate(new Oracle(), envs, evalSeed, episodes));
      double oracle = results.get(results.size() - 1).mean();
      for (Evaluation.Result r : results) {
        double gap = (r.mean() - oracle) / Math.abs(oracle) * 100;
        System.out.printf(
            Locale.ROOT,
            "%-5s %-12s %12.4f %10.4f %+11.2f%%%s%n",
            c,
            r.policy(),
            r.mean(),
            r.std(),
            gap,
            r.policy().equals("ppo") ? trainNote : "");
        rows.add(
            String.format(
                Locale.ROOT,
                "%s,%s,%.6f,%.6f,%.4f,%d",
                c,
                r.policy(),
                r.mean(),
                r.std(),
                gap,
                episodes));
      }
    }
    Path csv = dir.resolve("evaluation.csv");
    try (Writer w = Files.newBufferedWriter(csv)) {
      w.write("case,policy,mean_episode_reward,std,gap_to_oracle_percent,episodes\n");
      for (String r : rows) {
        w.write(r + "\n");
      }
    }
    System.out.println("wrote " + csv);
    return 0;
  }
}
