package io.splitinfer.controller.live;

import io.splitinfer.core.objective.Objective;
import io.splitinfer.proto.v1.ChannelControlGrpc;
import io.splitinfer.proto.v1.ChannelStatistics;
import io.splitinfer.proto.v1.GetStatisticsRequest;
import io.splitinfer.proto.v1.LoadScenarioRequest;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The online experiment: for every scenario and seed, loads the scenario into channel-sim and runs
 * the UE ({@code ue-client eval-ppl}, teacher-forced over the held-out text, one hidden-state
 * message per step) once per policy: fixed splits with {@code --split P}, live policies with {@code
 * --follow-controller} against their controller. Every step is logged with the true channel
 * (replayed from the scenario, {@link LiveScenarios#replay}), the controller's channel estimate at
 * the decision in force ({@link DecisionPoller}), NLL and Ĉ_UE.
 */
public final class LiveExperiment {
  private final LiveConfig config;
  private final Objective objective;
  private final Map<String, Trace> traces = new LinkedHashMap<>();

  /** One run's per-step series, for the plot. */
  public record Trace(
      double[] step, double[] split, double[] trueSigma, double[] trueLoss, double[] estSigma) {}

  public LiveExperiment(LiveConfig config, Objective objective) {
    this.config = config;
    this.objective = objective;
  }

  /** Traces of the first seed's runs, by "scenario/policy". */
  public Map<String, Trace> traces() {
    return traces;
  }

  /**
   * Runs everything, seeds outermost; {@code progress} gets (runs done, runs total, label) before
   * each run, {@code afterRun} the results so far after each.
   *
   * @throws IOException a process failed to start or a run failed
   */
  public List<RunResult> run(ProgressListener progress, RunListener afterRun)
      throws IOException, InterruptedException {
    Files.createDirectories(config.out().resolve("steps"));
    List<RunResult> results = new ArrayList<>();
    int total = config.scenarios().size() * config.seeds().size() * config.policies().size();
    try (LiveProcesses procs = new LiveProcesses(config).start()) {
      int done = 0;
      // seeds outermost: a run cut short still has every scenario and policy for its first seeds
      for (long seed : config.seeds()) {
        for (String scenario : config.scenarios()) {
          String json = LiveScenarios.json(scenario, config.segmentTicks());
          for (String policy : config.policies()) {
            progress.update(done, total, scenario + " seed " + seed + " " + policy);
            results.add(runOne(procs, scenario, json, seed, policy));
            afterRun.accept(List.copyOf(results));
            done++;
          }
        }
      }
      progress.update(done, total, "done");
    }
    return results;
  }

  /** Sees the results so far after every run (to write partial tables). */
  @FunctionalInterface
  public interface RunListener {
    void accept(List<RunResult> soFar) throws IOException;
  }

  /** Progress callback. */
  @FunctionalInterface
  public interface ProgressListener {
    void update(int done, int total, String label);
  }

  private RunResult runOne(
      LiveProcesses procs, String scenario, String json, long seed, String policy)
      throws IOException, InterruptedException {
    String runId = scenario + "-s" + seed + "-" + policy;
    ChannelControlGrpc.ChannelControlBlockingStub sim =
        ChannelControlGrpc.newBlockingStub(procs.simChannel());
    sim.loadScenario(LoadScenarioRequest.newBuilder().setJson(json).setSeed(seed).build());
    ChannelStatistics before = sim.getStatistics(GetStatisticsRequest.getDefaultInstance());
    Path stepsCsv = config.out().resolve("steps").resolve(runId + ".ue.csv");
    Files.deleteIfExists(stepsCsv);
    List<String> args =
        new ArrayList<>(
            List.of(
                "eval-ppl",
                "--plaintext",
                "--edge",
                "127.0.0.1:" + procs.simPort(),
                "--corpus",
                config.corpus().toString(),
                "--tokens",
                Integer.toString(config.tokens()),
                "--step-tokens",
                Integer.toString(config.stepTokens()),
                "--steps-csv",
                stepsCsv.toString(),
                "--ue-id",
                runId));
    args.addAll(config.ueArgs());
    DecisionPoller poller = null;
    if (policy.startsWith("fixed-")) {
      args.addAll(List.of("--split", policy.substring("fixed-".length())));
    } else {
      LiveProcesses.Controller c = procs.controller(policy);
      args.addAll(List.of("--controller", "127.0.0.1:" + c.port(), "--follow-controller"));
      poller = new DecisionPoller(c.channel(), runId, 25).start();
    }
    long t0 = System.nanoTime();
    int rc;
    try {
      rc = procs.runUe(args, config.out().resolve("logs").resolve(runId + ".log"));
    } finally {
      if (poller != null) {
        poller.close();
      }
    }
    double wall = (System.nanoTime() - t0) / 1e9;
    if (rc != 0) {
      throw new IOException(
          runId + ": ue-client exited with " + rc + "; see " + config.out().resolve("logs"));
    }
    ChannelStatistics after = sim.getStatistics(GetStatisticsRequest.getDefaultInstance());
    List<StepLog.Step> steps = StepLog.read(stepsCsv, config.stepTokens());
    // every step is one HiddenState, the k-th since the load is tick k (pilots impair but do not
    // tick); channel-sim's message count (hidden states + pilots) must cover the steps
    long messages = after.getMessages() - before.getMessages();
    if (messages < steps.size()) {
      throw new IOException(
          runId
              + ": channel-sim impaired "
              + messages
              + " messages for "
              + steps.size()
              + " steps");
    }
    LiveScenarios.Truth[] truth = LiveScenarios.replay(json, seed, steps.size());
    writeSteps(runId, steps, truth, poller);
    return RunResult.of(scenario, seed, policy, steps, objective, wall);
  }

  private void writeSteps(
      String runId, List<StepLog.Step> steps, LiveScenarios.Truth[] truth, DecisionPoller poller)
      throws IOException {
    int n = steps.size();
    double[] x = new double[n];
    double[] split = new double[n];
    double[] ts = new double[n];
    double[] tl = new double[n];
    double[] es = new double[n];
    Path f = config.out().resolve("steps").resolve(runId + ".csv");
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(f, StandardCharsets.UTF_8))) {
      w.println(
          "step,position,tokens,split,epoch,true_sigma,true_loss,est_sigma_at_decision,est_loss_at_decision,nll,ue_cost,step_ms,switch");
      for (int i = 0; i < n; i++) {
        StepLog.Step s = steps.get(i);
        LiveScenarios.Truth t = truth[i];
        DecisionPoller.Seen seen = poller == null ? null : poller.at(s.epoch());
        double estSigma = seen == null ? Double.NaN : seen.sigma();
        double estLoss = seen == null ? Double.NaN : PplTable.lossOf(seen.sigmaH());
        w.printf(
            Locale.ROOT,
            "%d,%d,%d,%d,%d,%.4f,%.4f,%.4f,%.4f,%.5f,%.5f,%.2f,%d%n",
            s.step(),
            s.position(),
            s.tokens(),
            s.split(),
            s.epoch(),
            t.sigma(),
            t.loss(),
            estSigma,
            estLoss,
            -s.logprob(),
            objective.cost().normalized(s.split()),
            s.stepMs(),
            s.switched() ? 1 : 0);
        x[i] = i;
        split[i] = s.split();
        ts[i] = t.sigma();
        tl[i] = t.loss();
        es[i] = estSigma;
      }
    }
    if (runId.contains("-s" + config.seeds().get(0) + "-")) {
      String[] parts = runId.split("-s" + config.seeds().get(0) + "-", 2);
      traces.put(parts[0] + "/" + parts[1], new Trace(x, split, ts, tl, es));
    }
  }

  /** Writes results.csv (one row per run). */
  public static void writeResults(Path f, List<RunResult> rs) throws IOException {
    StringBuilder sb =
        new StringBuilder(
            "scenario,seed,policy,steps,tokens,ppl,mean_cost,objective,mean_split,switches,stall_ms,wall_s\n");
    for (RunResult r : rs) {
      sb.append(
          String.format(
              Locale.ROOT,
              "%s,%d,%s,%d,%d,%.4f,%.5f,%.4f,%.4f,%d,%.1f,%.2f%n",
              r.scenario(),
              r.seed(),
              r.policy(),
              r.steps(),
              r.tokens(),
              r.ppl(),
              r.meanCost(),
              r.objective(),
              r.meanSplit(),
              r.switches(),
              r.stallMs(),
              r.wallS()));
    }
    Files.writeString(f, sb.toString(), StandardCharsets.UTF_8);
  }
}
