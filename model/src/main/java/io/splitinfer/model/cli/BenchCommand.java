package io.splitinfer.model.cli;

import io.splitinfer.model.engine.EngineKind;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.Logits;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.engine.SplitRunner;
import io.splitinfer.model.onnx.OnnxEngine;
import io.splitinfer.model.pkg.DefaultModel;
import io.splitinfer.model.pkg.Manifest;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.reference.ReferenceEngine;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code model bench}: decode-step latency of one package (all layers + head, one token after a
 * prompt of {@code --context} positions), its part sizes and the process's resident memory; one
 * table row (and CSV line) per context. Run once per package to compare weight formats.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description =
        "Decode-step latency (all layers + head, one token with a KV cache of --context"
            + " positions), part sizes and resident memory of the ONNX engine; the reference"
            + " engine too when a checkpoint is given or the model is the embedded one.")
final class BenchCommand implements Callable<Integer> {
  @Parameters(arity = "0..1", paramLabel = "DIR", description = "Package (default: embedded).")
  Path dir;

  @Option(names = "--checkpoint", description = "Checkpoint for the reference engine.")
  Path checkpoint;

  @Option(
      names = "--context",
      defaultValue = "128",
      split = ",",
      description = "Cached positions (comma-separated list).")
  List<Integer> contexts;

  @Option(names = "--steps", defaultValue = "50", description = "Timed decode steps per run.")
  int steps;

  @Option(
      names = "--rows",
      defaultValue = "1",
      description =
          "Positions per timed step (1: a decode step; k + 1: a speculative round verifying k"
              + " drafts). With more than 1 the cache is rolled back after each step, so every step"
              + " starts at --context.")
  int rows;

  @Option(names = "--runs", defaultValue = "3", description = "Runs (median of step medians).")
  int runs;

  @Option(names = "--split", defaultValue = "-1", description = "Split p (-1: half the layers).")
  int split;

  @Option(names = "--no-reference", defaultValue = "false", description = "Skip the reference.")
  boolean noReference;

  @Option(names = "--csv", description = "Append the rows to this CSV file.")
  Path csv;

  @Option(
      names = "--profile",
      description =
          "Instead of the table: ONNX Runtime's profile of --steps decode steps after a prompt of"
              + " the first --context, per op type, traces written to this directory.")
  Path profile;

  @Mixin ModelCli.EngineFlags engine;

  /** Bytes of a part file and its external data. */
  static long partBytes(Manifest m, String file) {
    long b = 0;
    for (String f : List.of(file, file + ".data")) {
      Manifest.FileEntry e = m.files().get(f);
      b += e == null ? 0 : e.bytes();
    }
    return b;
  }

  /** Bytes of the UE's parts at split p: embedding + layers 1..p. */
  static long ueBytes(Manifest m, int p) {
    long b = partBytes(m, m.embedFile());
    for (int l = 1; l <= p; l++) {
      b += partBytes(m, m.layerFiles().get(l - 1));
    }
    return b;
  }

  @Override
  public Integer call() throws IOException {
    if (rows < 1 || rows > 64) {
      throw new picocli.CommandLine.ParameterException(
          new picocli.CommandLine(this), "--rows must be in 1..64, got " + rows);
    }
    ModelPackage p = ModelCli.openPackage(dir);
    Manifest m = p.manifest();
    int sp = split >= 0 ? split : m.config().numLayers() / 2;
    if (profile != null) {
      DecodeProfile.run(p, engine.options(), sp, contexts.get(0), steps, profile);
      return 0;
    }
    long total = ueBytes(m, m.config().numLayers()) + partBytes(m, m.headFile());
    String unit = rows == 1 ? "token" : "step of " + rows + " rows";
    System.out.printf(
        Locale.ROOT,
        "engine %s, threads %s%n| weights | parts MB | UE parts MB (p = %d) | context | decode ms/%s,"
            + " median [min, max] of %d run medians | calling thread's CPU ms/%s | RSS MB | peak"
            + " RSS MB |%n|---|---|---|---|---|---|---|---|%n",
        engine.kind,
        engine.threads == 0 ? "default" : Integer.toString(engine.threads),
        sp,
        unit,
        runs,
        unit);
    try (InferenceEngine e = open(p, sp)) {
      for (int ctx : contexts) {
        double[] med = new double[runs];
        double[] cpu = new double[runs];
        for (int r = 0; r < runs; r++) {
          double[] d = decode(e, sp, ctx);
          med[r] = d[0];
          cpu[r] = d[1];
        }
        Arrays.sort(med);
        Arrays.sort(cpu);
        String row =
            String.format(
                Locale.ROOT,
                "| %s | %.1f | %.1f | %d | %.2f [%.2f, %.2f] | %.2f | %.0f | %.0f |",
                m.dtype(),
                total / 1e6,
                ueBytes(m, sp) / 1e6,
                ctx,
                med[runs / 2],
                med[0],
                med[runs - 1],
                cpu[runs / 2],
                ProcMemory.mb("VmRSS"),
                ProcMemory.mb("VmHWM"));
        System.out.println(row);
        if (csv != null) {
          appendCsv(m, sp, total, ctx, med, cpu[runs / 2]);
        }
      }
    }
    if (!noReference) {
      reference(sp);
    }
    return 0;
  }

  private InferenceEngine open(ModelPackage p, int sp) throws IOException {
    if (engine.kind != EngineKind.ONNX) {
      return engine.open(p);
    }
    OnnxEngine e = p.openEngine(engine.options().withPreload(true));
    // what a serving process reaches after its first tokens: the two ranges merged (when the
    // options allow it), built before timing instead of in the background during it
    e.fuseLayers(1, sp);
    e.fuseLayers(sp + 1, p.config().numLayers());
    return e;
  }

  private void appendCsv(Manifest m, int sp, long total, int ctx, double[] med, double cpu)
      throws IOException {
    boolean fresh = !Files.exists(csv);
    try (PrintWriter w =
        new PrintWriter(
            Files.newBufferedWriter(csv, StandardOpenOption.CREATE, StandardOpenOption.APPEND))) {
      if (fresh) {
        w.println(
            "model,weights,parts_bytes,split,ue_bytes,context,runs,steps,decode_ms_median,"
                + "decode_ms_min,decode_ms_max,rss_mb,peak_rss_mb,threads,cpu_ms_median");
      }
      w.printf(
          Locale.ROOT,
          "%s,%s,%d,%d,%d,%d,%d,%d,%.3f,%.3f,%.3f,%.1f,%.1f,%d,%.3f%n",
          m.modelId(),
          m.dtype(),
          total,
          sp,
          ueBytes(m, sp),
          ctx,
          runs,
          steps,
          med[runs / 2],
          med[0],
          med[runs - 1],
          ProcMemory.mb("VmRSS"),
          ProcMemory.mb("VmHWM"),
          engine.threads,
          cpu);
    }
  }

  private void reference(int sp) throws IOException {
    Path ck = checkpoint;
    Path tmp = null;
    if (ck == null && dir == null) {
      tmp = Files.createTempDirectory("splitinfer-ckpt");
      DefaultModel.forProcess().extractCheckpoint(tmp);
      ck = tmp;
    }
    try {
      if (ck != null) {
        try (ReferenceEngine r = ReferenceEngine.load(ck)) {
          for (int ctx : contexts) {
            System.out.printf(
                Locale.ROOT,
                "reference engine, context %d: decode median %.2f ms%n",
                ctx,
                decodeMedian(r, sp, ctx));
          }
        }
      }
    } finally {
      if (tmp != null) {
        DefaultModel.deleteTree(tmp);
      }
    }
  }

  /** Median decode-step time (ms) over {@link #steps} steps after 5 untimed ones. */
  private double decodeMedian(InferenceEngine e, int sp, int context) {
    return decode(e, sp, context)[0];
  }

  /**
   * {median wall ms, median CPU ms of the calling thread} per decode step over {@link #steps} steps
   * after 5 untimed ones. With one ONNX Runtime thread the calling thread does all the work, so its
   * CPU time is the step's compute without the waits for a core that other processes cause.
   */
  private double[] decode(InferenceEngine e, int sp, int context) {
    ModelConfig c = e.config();
    int[] prompt = new int[context];
    for (int i = 0; i < context; i++) {
      prompt[i] = (i * 31 + 7) % c.vocabSize();
    }
    List<Double> ms = new ArrayList<>();
    List<Double> cpu = new ArrayList<>();
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    try (SplitRunner r = new SplitRunner(e, sp)) {
      float[] logits = r.forward(prompt);
      int next = Logits.argmax(logits, (context - 1) * c.vocabSize(), c.vocabSize());
      for (int i = 0; i < 5 + steps; i++) {
        int[] ids = new int[rows];
        for (int j = 0; j < rows; j++) {
          ids[j] = j == 0 ? next : prompt[(i + j) % context];
        }
        int at = r.length();
        long c0 = threads.getCurrentThreadCpuTime();
        long t0 = System.nanoTime();
        logits = r.forward(ids);
        long t1 = System.nanoTime();
        long c1 = threads.getCurrentThreadCpuTime();
        next = Logits.argmax(logits, 0, c.vocabSize());
        if (rows > 1) {
          r.truncate(at);
        }
        if (i >= 5) {
          ms.add((t1 - t0) / 1e6);
          cpu.add((c1 - c0) / 1e6);
        }
      }
    }
    ms.sort(null);
    cpu.sort(null);
    return new double[] {ms.get(ms.size() / 2), cpu.get(cpu.size() / 2)};
  }
}
