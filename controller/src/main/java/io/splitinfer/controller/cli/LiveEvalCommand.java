package io.splitinfer.controller.cli;

import io.splitinfer.controller.live.LiveConfig;
import io.splitinfer.controller.live.LiveExperiment;
import io.splitinfer.controller.live.RunResult;
import io.splitinfer.controller.live.Summary;
import io.splitinfer.controller.service.Policies;
import io.splitinfer.controller.service.PolicyFactory;
import io.splitinfer.core.objective.Objective;
import io.splitinfer.model.pkg.DefaultModel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code controller live-eval}: the online experiment (issue 11). Starts edge-server, channel-sim,
 * the controllers and one ue-client per run as separate JVMs from the built jars, and compares live
 * PPO, every fixed split and the measured-table oracle on the same scenarios, seeds and text.
 */
@Command(
    name = "live-eval",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description =
        "Online experiment: real processes, a time-varying channel, live PPO vs fixed splits vs"
            + " oracle; writes summary.md/csv, results.csv, per-step CSVs and PNGs.")
final class LiveEvalCommand implements Callable<Integer> {
  @Option(
      names = "--jars",
      description = "repository root or a directory of the four jars; default: found from this jar",
      defaultValue = "")
  String jars;

  @Option(names = "--out", description = "output directory", defaultValue = "runs/live-eval")
  Path out;

  @Option(
      names = "--scenarios",
      split = ",",
      description = "drift, bursty, mobility",
      defaultValue = "mobility,drift,bursty")
  List<String> scenarios;

  @Option(names = "--seeds", split = ",", description = "scenario seeds", defaultValue = "1,2,3")
  List<Long> seeds;

  @Option(
      names = "--policies",
      split = ",",
      description = "ppo, oracle, fixed (= fixed-1..fixed-11) or fixed-P",
      defaultValue = "ppo,oracle,fixed")
  List<String> policies;

  @Option(names = "--tokens", description = "held-out tokens scored per run", defaultValue = "512")
  int tokens;

  @Option(
      names = "--step-tokens",
      description = "tokens per step (one message, one tick)",
      defaultValue = "4")
  int stepTokens;

  @Option(
      names = "--segment-ticks",
      description = "drift segment length in steps (bursty: a third)",
      defaultValue = "48")
  int segmentTicks;

  @Option(
      names = "--ppl-table",
      description =
          "measured PPL table for the oracle; default: the one in controller.jar (the same as"
              + " controller/docs/records-default-model.csv)",
      defaultValue = "")
  String pplTable;

  @Option(
      names = "--corpus",
      description = "text the UE scores; default: the default model's held-out text",
      defaultValue = "")
  String corpus;

  @Option(
      names = "--checkpoint",
      description = "PPO checkpoint whose λ and cost define the objective (default: the jar's)",
      defaultValue = "")
  String checkpoint;

  @Option(
      names = "--ppo-args",
      description = "extra 'controller serve' flags for live PPO (space separated)",
      defaultValue =
          "--decision-interval-ms 20 --estimate-half-life-ms 500 --confirmations 1"
              + " --min-dwell-ms 0 --min-sigma-dof 200 --ppo-moves 11")
  String ppoArgs;

  @Option(
      names = "--oracle-args",
      description = "extra 'controller serve' flags for the oracle (space separated)",
      defaultValue = "--decision-interval-ms 20 --confirmations 1 --min-dwell-ms 0")
  String oracleArgs;

  @Option(
      names = "--edge-args",
      description = "extra edge-server flags (space separated)",
      defaultValue = "--channel-report-packets 4 --channel-report-ms 20")
  String edgeArgs;

  @Option(
      names = "--ue-args",
      description = "extra 'ue-client eval-ppl' flags for every run (space separated)",
      defaultValue = "--pilot-every 1 --pilot-length 256")
  String ueArgs;

  @Option(names = "--run-timeout-s", description = "limit per UE run", defaultValue = "600")
  int runTimeoutS;

  @Option(
      names = "--quick",
      description = "one scenario (mobility), one seed, ppo + oracle + fixed 3, 6, 9, 256 tokens")
  boolean quick;

  @Override
  public Integer call() throws Exception {
    Path root = jars.isBlank() ? repoRoot() : Path.of(jars);
    if (quick) {
      scenarios = List.of("mobility");
      seeds = List.of(seeds.get(0));
      policies = List.of("ppo", "oracle", "fixed-3", "fixed-6", "fixed-9");
      tokens = Math.min(tokens, 256);
    }
    List<String> pols = new ArrayList<>();
    for (String p : policies) {
      if (p.equals("fixed")) {
        IntStream.rangeClosed(1, 11).forEach(i -> pols.add("fixed-" + i));
      } else {
        pols.add(p.trim());
      }
    }
    Path table = pplTable.isBlank() ? null : Path.of(pplTable); // null: the controller's own copy
    Path text =
        corpus.isBlank()
            ? DefaultModel.forProcess()
                .locate()
                .file("heldout.txt")
                .orElseThrow(() -> new IOException("the default model has no heldout.txt"))
            : Path.of(corpus);
    Files.createDirectories(out);
    LiveConfig config =
        new LiveConfig(
            root.toAbsolutePath(),
            out.toAbsolutePath(),
            scenarios,
            seeds,
            pols,
            tokens,
            stepTokens,
            segmentTicks,
            table == null ? null : table.toAbsolutePath(),
            text.toAbsolutePath(),
            words(ppoArgs),
            words(oracleArgs),
            words(edgeArgs),
            words(ueArgs),
            runTimeoutS);
    Objective objective = Policies.objectiveOf(PolicyFactory.loadCheckpoint(checkpoint));
    // Ctrl-C / SIGTERM: stop the JVMs this command started (its own descendants only)
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> ProcessHandle.current().descendants().forEach(ProcessHandle::destroy)));
    long t0 = System.nanoTime();
    LiveExperiment exp = new LiveExperiment(config, objective);
    List<RunResult> results =
        exp.run(
            (done, total, label) -> {
              double el = (System.nanoTime() - t0) / 1e9;
              String eta =
                  done == 0
                      ? ""
                      : String.format(Locale.ROOT, " eta %.0fs", el / done * (total - done));
              Common.progress(
                  System.err,
                  done,
                  total,
                  String.format(Locale.ROOT, "%-28s %4.0fs%s", label, el, eta));
            },
            soFar -> writeTables(soFar, objective.lambda()));
    List<Summary.Row> rows = writeTables(results, objective.lambda());
    String md = Summary.markdown(rows, objective.lambda());
    String verdict = Summary.verdict(rows, results);
    plots(exp.traces(), rows);
    System.out.print(md);
    System.out.println();
    System.out.print(verdict);
    System.out.printf(
        Locale.ROOT,
        "%d runs in %.0f s; λ = %.1f; tables, per-step CSVs and PNGs in %s%n",
        results.size(),
        (System.nanoTime() - t0) / 1e9,
        objective.lambda(),
        out.toAbsolutePath());
    return 0;
  }

  /** results.csv, summary.md (table + verdict) and summary.csv for the runs so far. */
  private List<Summary.Row> writeTables(List<RunResult> results, double lambda) throws IOException {
    LiveExperiment.writeResults(out.resolve("results.csv"), results);
    List<Summary.Row> rows = Summary.rows(results);
    Files.writeString(
        out.resolve("summary.md"),
        Summary.markdown(rows, lambda) + "\n" + Summary.verdict(rows, results),
        StandardCharsets.UTF_8);
    Files.writeString(out.resolve("summary.csv"), Summary.csv(rows), StandardCharsets.UTF_8);
    return rows;
  }

  private void plots(Map<String, LiveExperiment.Trace> traces, List<Summary.Row> rows)
      throws IOException {
    for (String sc : scenarios) {
      Summary.Row best = Summary.bestFixed(rows, sc);
      List<String> names = new ArrayList<>();
      List<double[][]> xy = new ArrayList<>();
      LiveExperiment.Trace any = null;
      for (String pol : new String[] {"ppo", "oracle", best == null ? "" : best.policy()}) {
        LiveExperiment.Trace t = traces.get(sc + "/" + pol);
        if (t != null) {
          names.add("split " + pol);
          xy.add(new double[][] {t.step(), t.split()});
          any = any == null || pol.equals("ppo") ? t : any;
        }
      }
      if (any == null) {
        continue;
      }
      names.add("σ true");
      xy.add(new double[][] {any.step(), any.trueSigma()});
      double[] loss10 = Arrays.stream(any.trueLoss()).map(v -> 10 * v).toArray();
      names.add("loss ×10 true");
      xy.add(new double[][] {any.step(), loss10});
      LiveExperiment.Trace ppo = traces.get(sc + "/ppo");
      if (ppo != null) {
        double[][] finite = finite(ppo.step(), ppo.estSigma());
        if (finite[0].length > 0) {
          names.add("σ estimate at PPO's decision in force");
          xy.add(finite);
        }
      }
      Common.linePlot(
          out.resolve("live-" + sc + ".png"),
          "live split and channel, scenario " + sc + ", seed " + seeds.get(0),
          "step (" + stepTokens + " tokens)",
          "split / σ / loss×10",
          names,
          xy);
    }
  }

  private static double[][] finite(double[] x, double[] y) {
    int[] idx = IntStream.range(0, x.length).filter(i -> Double.isFinite(y[i])).toArray();
    return new double[][] {
      Arrays.stream(idx).mapToDouble(i -> x[i]).toArray(),
      Arrays.stream(idx).mapToDouble(i -> y[i]).toArray()
    };
  }

  private static List<String> words(String s) {
    return s.isBlank() ? List.of() : List.of(s.trim().split("\\s+"));
  }

  /** The repository root: this jar is ROOT/controller/target/controller.jar; else the cwd. */
  private static Path repoRoot() {
    try {
      Path jar =
          Path.of(
              LiveEvalCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      Path p = jar.toAbsolutePath();
      while (p != null && !Files.isDirectory(p.resolve("edge-server"))) {
        p = p.getParent();
      }
      return p != null ? p : Path.of("").toAbsolutePath();
    } catch (Exception e) {
      return Path.of("").toAbsolutePath();
    }
  }
}
