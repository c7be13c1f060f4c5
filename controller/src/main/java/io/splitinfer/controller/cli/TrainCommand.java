package io.splitinfer.controller.cli;

import io.splitinfer.controller.baseline.DqnTrainer;
import io.splitinfer.controller.env.ChannelCase;
import io.splitinfer.controller.env.EnvConfig;
import io.splitinfer.controller.env.SplitEnvironment;
import io.splitinfer.controller.live.PplTable;
import io.splitinfer.controller.ppo.PpoCheckpoint;
import io.splitinfer.controller.ppo.PpoConfig;
import io.splitinfer.controller.ppo.PpoTrainer;
import io.splitinfer.controller.reward.Algorithm1;
import io.splitinfer.controller.reward.MeasuredReward;
import io.splitinfer.controller.reward.RecordStore;
import io.splitinfer.controller.reward.RewardSource;
import io.splitinfer.controller.reward.SurrogateConfig;
import io.splitinfer.controller.reward.SurrogateReward;
import io.splitinfer.controller.service.PolicyFactory;
import io.splitinfer.core.objective.Objective;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code controller train}: trains PPO (or A2C/DQN) on a case; writes checkpoint, curve, plot. */
@Command(
    name = "train",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description =
        "Train the split policy on a case. With --surrogate: rewards from the reward surrogate"
            + " (fast). Without: Algorithm 1 (measured rewards through the model until"
            + " --threshold-epochs, then the surrogate fit on the stored records).")
final class TrainCommand implements Callable<Integer> {
  @Option(
      names = "--privacy-floor",
      defaultValue = "0",
      description = "smallest split the environment may take (privacy floor; 0: none)")
  int privacyFloor;

  @Option(names = "--case", description = "L, H or A", defaultValue = "A")
  String channelCase;

  @Option(names = "--surrogate", description = "train on the reward surrogate")
  boolean surrogate;

  @Option(
      names = "--surrogate-file",
      description = "surrogate JSON (default: the one shipped in the jar)",
      defaultValue = "")
  String surrogateFile;

  @Option(
      names = "--ppl-table",
      description =
          "train on a measured PPL table instead (records CSV, e.g. docs/records-default-model.csv,"
              + " the oracle-table policy's; bilinear in σ and P = eq. 4 of σ_h); 'default': the"
              + " jar's",
      defaultValue = "")
  String pplTable;

  @Option(
      names = "--ent-coef",
      description =
          "PPO entropy bonus (default 0, SB3's; 0.01 keeps the actions explored longer on the"
              + " measured PPL table, whose reward differences at low σ are small)",
      defaultValue = "0")
  double entCoef;

  @Option(
      names = "--anneal-lr",
      description = "decay PPO's learning rate linearly to 0 over training")
  boolean annealLr;

  @Option(
      names = "--episode-length",
      defaultValue = "0",
      description =
          "steps per training episode (0: the surrogate's, the paper's 5); with ±1 moves an episode"
              + " must be long enough to reach the best split from any start (the live loop"
              + " iterates the policy to its fixed point)")
  int episodeLength;

  @Option(names = "--algorithm", description = "ppo, a2c or dqn", defaultValue = "ppo")
  String algorithm;

  @Option(names = "--steps", defaultValue = "24000")
  int steps;

  @Option(names = "--seed", defaultValue = "1")
  long seed;

  @Option(names = "--lambda", description = "λ of eq. 7", defaultValue = Common.DEFAULT_LAMBDA)
  double lambda;

  @Option(names = "--out", defaultValue = "controller-out")
  Path out;

  @Option(names = "--threshold-epochs", description = "Algorithm 1's T", defaultValue = "10")
  int thresholdEpochs;

  @Mixin PipelineOptions pipeline = new PipelineOptions();

  @Override
  public Integer call() throws Exception {
    ChannelCase c = ChannelCase.parse(channelCase);
    SurrogateReward s = Common.surrogate(surrogateFile);
    Objective objective = Common.objective(s, lambda);
    Files.createDirectories(out);
    String trainedFormat = s.weightFormat();
    RewardSource reward = s;
    Algorithm1 alg = null;
    RecordStore store = null;
    if (!pplTable.isEmpty()) {
      PplTable table =
          pplTable.equals("default")
              ? PplTable.loadResource(PolicyFactory.DEFAULT_PPL_TABLE)
              : PplTable.load(Path.of(pplTable));
      reward =
          new RewardSource() {
            @Override
            public double ppl(double sigma, double sigmaH, int split) {
              return table.ppl(sigma, PplTable.lossOf(sigmaH), split);
            }

            @Override
            public String name() {
              return "ppl-table";
            }
          };
    } else if (!surrogate) {
      store = RecordStore.open(pipeline.db);
      var pipe = pipeline.open();
      trainedFormat = pipe.weightFormat();
      objective = Common.objective(s, lambda, trainedFormat);
      MeasuredReward measured =
          new MeasuredReward(
              pipe, store, pipeline.sigmaStep, pipeline.lossStep, 1.0, Clock.systemUTC());
      alg =
          new Algorithm1(
              measured,
              s.env(),
              SurrogateConfig.defaults(),
              thresholdEpochs,
              Double.POSITIVE_INFINITY);
      reward = alg;
    }
    EnvConfig envConfig = episodeLength > 0 ? s.env().withEpisodeLength(episodeLength) : s.env();
    SplitEnvironment env =
        new SplitEnvironment(envConfig, c, reward, objective, seed + 1000)
            .withPrivacyFloor(privacyFloor);
    PpoConfig cfg =
        "a2c".equals(algorithm)
            ? PpoConfig.a2c(steps, seed)
            : PpoConfig.defaults()
                .withTotalSteps(steps)
                .withSeed(seed)
                .withExploration(entCoef, annealLr);
    String name = algorithm + "-" + c;
    long t0 = System.nanoTime();
    List<PpoTrainer.CurvePoint> curve;
    PpoCheckpoint cp = null;
    if ("dqn".equals(algorithm)) {
      DqnTrainer dqn =
          new DqnTrainer(
              DqnTrainer.Config.defaults(steps, seed), env.observationSize(), env.numActions());
      curve = dqn.train(env, 400);
    } else {
      PpoTrainer trainer = new PpoTrainer(cfg, env.observationSize(), env.numActions());
      Algorithm1 a = alg;
      curve =
          trainer.train(
              env,
              (u, n, st, stats) -> {
                if (a != null) {
                  a.onUpdate(u, n, st, stats);
                }
                if (u % Math.max(1, n / 100) == 0 || u == n) {
                  Common.progress(
                      System.err,
                      u,
                      n,
                      String.format(
                          Locale.ROOT,
                          "steps %d/%d  mean episode reward %.4f  entropy %.3f%s",
                          st,
                          cfg.totalSteps(),
                          stats.meanEpisodeReward(),
                          stats.entropy(),
                          a == null ? "" : "  reward=" + a.name()));
                }
              });
      cp =
          PpoCheckpoint.of(
              algorithm,
              s.modelId(),
              c.name(),
              lambda,
              objective.cost().inputLength(),
              objective.cost().hiddenSize(),
              envConfig,
              cfg,
              curve.get(curve.size() - 1).steps(),
              reward.name(),
              trainer.agent(),
              trainedFormat);
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    Path csv = out.resolve(name + "-curve.csv");
    try (Writer w = Files.newBufferedWriter(csv)) {
      w.write("steps,mean_episode_reward,episodes\n");
      for (PpoTrainer.CurvePoint p : curve) {
        w.write(
            String.format(
                Locale.ROOT, "%d,%.6f,%d%n", p.steps(), p.meanEpisodeReward(), p.episodes()));
      }
    }
    double[] xs = curve.stream().mapToDouble(PpoTrainer.CurvePoint::steps).toArray();
    double[] ys = curve.stream().mapToDouble(PpoTrainer.CurvePoint::meanEpisodeReward).toArray();
    Common.linePlot(
        out.resolve(name + "-curve.png"),
        "Training curve: " + algorithm.toUpperCase(Locale.ROOT) + ", case " + c,
        "environment steps",
        "mean episode reward",
        List.of(name),
        List.<double[][]>of(new double[][] {xs, ys}));
    if (cp != null) {
      cp.save(out.resolve(name + ".json"));
    }
    if (store != null) {
      store.close();
    }
    System.out.printf(
        Locale.ROOT,
        "trained %s on case %s: %d steps in %.1f s; final mean episode reward %.4f%n"
            + "wrote %s, %s%s%n",
        algorithm,
        c,
        steps,
        seconds,
        ys[ys.length - 1],
        csv,
        out.resolve(name + "-curve.png"),
        cp == null ? "" : ", " + out.resolve(name + ".json"));
    return 0;
  }
}
