package io.splitinfer.controller.experiments;

import io.splitinfer.controller.env.EnvConfig;
import io.splitinfer.controller.live.PplTable;
import io.splitinfer.controller.reward.SurrogateReward;
import io.splitinfer.controller.service.PolicyFactory;
import io.splitinfer.core.objective.Objective;
import io.splitinfer.core.objective.UeCost;
import io.splitinfer.model.pkg.DefaultModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code controller experiments}: the paper's evaluation in one command (issue 18). Stages, in
 * order: {@code measure} (the records, through {@code controller measure}), {@code surrogate}
 * ({@code fit-surrogate}, then its cross-validated error and parity plot), {@code fig3}, {@code
 * fig5}, {@code fig8}, {@code fig6} (with Table IV) and {@code fig7} ({@code plot-decisions} on the
 * PPO trained for Fig. 6). A stage left out with {@code --only} falls back to the files an earlier
 * run left in OUT, then to the jar's shipped records and surrogate, and the summary says which.
 * Writes CSVs and PNGs under OUT and OUT/summary.md.
 */
@Command(
    name = "experiments",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description =
        "Reproduce the paper's evaluation (Fig. 3, 5, 6, 7, 8, Table IV, the surrogate's error)"
            + " with a progress bar: CSVs, PNGs and summary.md under --out.")
public final class ExperimentsCommand implements Callable<Integer> {
  static final List<String> STAGES =
      List.of("measure", "surrogate", "fig3", "fig5", "fig8", "fig6", "fig7");

  @Spec CommandSpec spec;

  @Option(names = "--out", defaultValue = "results")
  Path out;

  @Option(names = "--quick", description = "the smoke-sized plan (minutes) instead of the full one")
  boolean quick;

  @Option(
      names = "--only",
      split = ",",
      description = "subset of measure, surrogate, fig3, fig5, fig8, fig6, fig7 (default: all)")
  List<String> only;

  @Option(
      names = "--keep-records",
      description =
          "measure: keep the records already in OUT's database and measure only the missing"
              + " grid points (default: measure every point afresh)")
  boolean keepRecords;

  @Option(names = "--threads", description = "ONNX Runtime intra-op threads", defaultValue = "2")
  int threads;

  @Option(names = "--lambda", description = "λ of eq. 7 (PPL points)", defaultValue = "50.0")
  double lambda;

  @Override
  public Integer call() throws Exception {
    Set<String> stages = Set.copyOf(only == null || only.isEmpty() ? STAGES : only);
    for (String s : stages) {
      if (!STAGES.contains(s)) {
        throw new CommandLine.ParameterException(
            spec.commandLine(), "unknown stage '" + s + "' (" + String.join(", ", STAGES) + ")");
      }
    }
    Plan plan = quick ? Plan.quick() : Plan.full();
    Files.createDirectories(out);
    long t0 = System.nanoTime();
    String loadStart = loadAverage();
    String modelId = DefaultModel.forProcess().locate().dir().getFileName().toString();
    Objective objective = new Objective(new UeCost(256, 256, 12), lambda);
    Progress progress = new Progress(System.err);
    Fig3Study fig3 = new Fig3Study(plan, progress, out);
    int records =
        plan.measureSigmas().split(",").length * plan.measureLosses().split(",").length * 11;
    progress.addTotal(stages.contains("measure") ? records : 0);
    progress.addTotal(stages.contains("surrogate") ? 1 : 0);
    progress.addTotal(stages.contains("fig3") ? fig3.units() : 0);
    List<String> md = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    Path recordsCsv = out.resolve("records.csv");
    Path surrogateFile = out.resolve("surrogate.json");
    if (stages.contains("measure")) {
      if (!keepRecords) {
        Files.deleteIfExists(out.resolve("records.mv.db"));
      }
      run(
          "measure",
          "--model",
          "default",
          "--db",
          out.resolve("records").toString(),
          "--sequences",
          String.valueOf(plan.sequences()),
          "--length",
          String.valueOf(plan.length()),
          "--sigmas",
          plan.measureSigmas(),
          "--losses",
          plan.measureLosses(),
          "--min-split",
          "1",
          "--max-split",
          "11",
          "--threads",
          String.valueOf(threads),
          "--csv",
          recordsCsv.toString());
      progress.advance(records, "measure: " + records + " records");
    } else if (!Files.exists(recordsCsv)) {
      recordsCsv = out.resolve("records-shipped.csv");
      try (InputStream in = getClass().getResourceAsStream(PolicyFactory.DEFAULT_PPL_TABLE)) {
        Files.copy(in, recordsCsv, StandardCopyOption.REPLACE_EXISTING);
      }
      notes.add("records: the jar's shipped records (docs/records-default-model.csv)");
    }
    if (stages.contains("surrogate") && !Files.exists(out.resolve("records.mv.db"))) {
      notes.add(
          "no records database in OUT: the surrogate's error is cross-validated on the"
              + " records CSV, the policy stages use the shipped surrogate");
    } else if (stages.contains("surrogate")) {
      run(
          "fit-surrogate",
          "--db",
          out.resolve("records").toString(),
          "--model-id",
          modelId,
          "--layers",
          "12",
          "--hidden-size",
          "256",
          "--input-length",
          "256",
          "--sigma-max",
          "8",
          "--folds",
          String.valueOf(plan.folds()),
          "--out",
          surrogateFile.toString());
    }
    String sFile = Files.exists(surrogateFile) ? surrogateFile.toString() : "";
    if (sFile.isEmpty()) {
      notes.add("surrogate: the jar's shipped default-surrogate.json");
    }
    SurrogateReward surrogate = PolicyFactory.loadSurrogate(sFile);
    TrainingStudy training = new TrainingStudy(plan, progress, out, surrogate, objective);
    PolicyStudy policies = new PolicyStudy(plan, progress, out, surrogate, objective);
    progress.addTotal(stages.contains("fig5") ? training.fig5Units() : 0);
    progress.addTotal(stages.contains("fig8") ? training.fig8Units() : 0);
    progress.addTotal(stages.contains("fig6") ? policies.units() : 0);
    progress.addTotal(stages.contains("fig7") ? 1 : 0);
    if (stages.contains("surrogate")) {
      md.add(
          new SurrogateStudy(out, objective)
              .run(
                  SurrogateStudy.readRecords(recordsCsv),
                  EnvConfig.forModel(12, 8),
                  plan.folds(),
                  1));
      progress.step("surrogate: cross-validated");
    }
    try (LinkPpl link =
        stages.contains("fig3") || stages.contains("fig6")
            ? LinkPpl.open(plan.sequences(), plan.length(), threads)
            : null) {
      if (stages.contains("fig3")) {
        md.add(fig3.run(link));
      }
      if (stages.contains("fig5")) {
        md.add(training.fig5());
      }
      if (stages.contains("fig8")) {
        md.add(training.fig8());
      }
      Path cp = out.resolve("ppo-A-surrogate.json");
      if (stages.contains("fig6")) {
        md.add(policies.run(PplTable.load(recordsCsv), link, cp));
      }
      if (stages.contains("fig7")) {
        md.add(fig7(plan, Files.exists(cp) ? cp.toString() : "", sFile));
        progress.step("fig7: decisions");
      }
    }
    progress.finish();
    double secs = (System.nanoTime() - t0) / 1e9;
    String head =
        String.format(
            Locale.ROOT,
            "# Experiments (%s plan), %s%n%nWall %.0f s (%.1f min); load average at start %s,"
                + " at end %s (2 shared cores). Stages: %s. λ = %s. Model %s.%s%n%n",
            quick ? "quick" : "full",
            Instant.now(),
            secs,
            secs / 60,
            loadStart,
            loadAverage(),
            String.join(", ", STAGES.stream().filter(stages::contains).toList()),
            Fig3Study.num(lambda),
            modelId,
            notes.isEmpty() ? "" : " Inputs: " + String.join("; ", notes) + ".");
    Files.writeString(out.resolve("summary.md"), head + String.join("\n", md));
    System.out.println(head + String.join("\n", md));
    System.out.printf(Locale.ROOT, "wrote %s (%.0f s)%n", out.resolve("summary.md"), secs);
    return 0;
  }

  private String fig7(Plan plan, String checkpoint, String surrogateFile) throws IOException {
    Path png = out.resolve("fig7-decisions.png");
    run(
        "plot-decisions",
        "--checkpoint",
        checkpoint,
        "--surrogate-file",
        surrogateFile,
        "--case",
        "A",
        "--decisions",
        String.valueOf(plan.decisions()),
        "--out",
        png.toString());
    List<String> lines = Files.readAllLines(out.resolve("fig7-decisions.csv"));
    int n = lines.size() - 1;
    double[] x = new double[n];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      String[] f = lines.get(i + 1).split(",");
      x[i] = Double.parseDouble(f[0]);
      y[i] = Double.parseDouble(f[1]);
    }
    double[] sr = Stats.slopeR2(x, y);
    StringBuilder bins = new StringBuilder();
    for (int b = 0; b < 8; b++) {
      double sum = 0;
      int k = 0;
      for (int i = 0; i < n; i++) {
        if (x[i] >= b && (x[i] < b + 1 || b == 7 && x[i] <= 8)) {
          sum += y[i];
          k++;
        }
      }
      bins.append(
          String.format(
              Locale.ROOT,
              " σ∈[%d,%d): %s",
              b,
              b + 1,
              k == 0 ? "–" : String.format(Locale.ROOT, "%.2f", sum / k)));
    }
    return String.format(
        Locale.ROOT,
        "### Fig. 7 (%d decisions of the PPO trained on the surrogate for Fig. 6, case A)%n%n"
            + "Least-squares slope **%+.3f layers per unit σ, R² %.3f**; mean split per σ bin:%s.%n",
        n,
        sr[0],
        sr[1],
        bins);
  }

  /** Runs another controller subcommand in this JVM (measure, fit-surrogate, plot-decisions). */
  private void run(String... args) {
    CommandLine root = spec.commandLine().getParent();
    if (root == null) {
      throw new IllegalStateException("experiments must run as a controller subcommand");
    }
    int rc = root.execute(args);
    if (rc != 0) {
      throw new IllegalStateException("controller " + String.join(" ", args) + " exited " + rc);
    }
  }

  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " / " + f[1] + " / " + f[2];
    } catch (IOException | RuntimeException e) {
      return "n/a";
    }
  }
}
