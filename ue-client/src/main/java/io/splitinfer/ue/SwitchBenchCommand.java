package io.splitinfer.ue;

import io.grpc.ManagedChannel;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.SwitchMethod;
import io.splitinfer.proto.v1.Token;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The stall a live split switch puts into the token stream: per session, a prompt of C - before
 * random tokens (seeded), then decode steps at split {@code from}; at step {@code before + 1}, with
 * C positions of context (capped at max_positions - after - 1), the UE switches to {@code to}
 * inside the step (SplitSwitch + KV transfer or recompute, then the step's own HiddenState and
 * token). A step is timed from the UE's decision to run it to the token's arrival. Stall in decode
 * steps = (switch step - median of the normal steps before it) / that median. Both directions (edge
 * gains layers: high -> low; UE gains: low -> high), each method.
 */
@Command(
    name = "switch-bench",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = "Measures the decode-step stall of a live split switch (transfer vs recompute).")
final class SwitchBenchCommand implements Callable<Integer> {
  @Mixin UeClientMain.Common common;

  @Option(names = "--contexts", defaultValue = "64,256,512", description = "Context lengths.")
  String contexts;

  @Option(names = "--low", defaultValue = "1", description = "The lower split.")
  int low;

  @Option(names = "--high", defaultValue = "-1", description = "The higher split (-1 = L-1).")
  int high;

  @Option(
      names = "--methods",
      defaultValue = "transfer,recompute,auto",
      description =
          "Switch methods: transfer, recompute, auto (the cost model picks), clean (auto, but the"
              + " UE always recomputes the layers it gains).")
  String methods;

  @Option(names = "--before", defaultValue = "8", description = "Normal steps before the switch.")
  int before;

  @Option(names = "--after", defaultValue = "3", description = "Steps after the switch.")
  int after;

  @Option(names = "--repeats", defaultValue = "10", description = "Sessions per row (+1 warm-up).")
  int repeats;

  @Option(
      names = "--link-mbps",
      defaultValue = "0",
      description = "Link rate the auto method assumes until it measures one (0 = unknown).")
  double linkMbps;

  @Option(names = "--seed", defaultValue = "1")
  long seed;

  @Option(names = "--out", description = "Directory for switch-bench.csv, steps.csv, .md.")
  Path out;

  record Row(
      int context,
      String direction,
      int from,
      int to,
      String method,
      String chosen,
      double normalMs,
      double switchP50Ms,
      double switchP99Ms,
      double stallP50,
      double stallP99,
      double nextStepMs) {}

  static double percentile(double[] v, double q) {
    double[] s = v.clone();
    Arrays.sort(s);
    int i = (int) Math.ceil(q * s.length) - 1;
    return s[Math.max(0, Math.min(s.length - 1, i))];
  }

  @Override
  public Integer call() throws Exception {
    ManagedChannel edge = UeClientMain.channel(common.edge, common.tls);
    try (LoadedModel m = LoadedModel.open(common.model, common.threads, common.engine)) {
      UeModel model = m.ueModel();
      ModelInfo info = new UeClient(edge, model).modelInfo();
      int layers = info.getNumLayers();
      int hi = high < 0 ? layers - 1 : high;
      List<Row> rows = new ArrayList<>();
      StringBuilder steps = new StringBuilder("context,direction,method,repeat,step,ms,switch\n");
      for (String c : contexts.split(",")) {
        // Positions before the switch step; capped so the steps after it fit the model.
        int ctx = Math.min(Integer.parseInt(c.trim()), (int) info.getMaxPositions() - after - 1);
        for (boolean edgeGains : new boolean[] {true, false}) {
          int from = edgeGains ? hi : low;
          int to = edgeGains ? low : hi;
          String dir = edgeGains ? "edge gains" : "UE gains";
          for (String meth : methods.split(",")) {
            String mname = meth.trim();
            SwitchCostModel costs = new SwitchCostModel(config(mname));
            double[] sw = new double[repeats];
            double[] normal = new double[repeats];
            double[] stall = new double[repeats];
            double[] next = new double[repeats];
            String chosen = "";
            for (int r = -1; r < repeats; r++) {
              double[] t = session(edge, model, info, costs, ctx, from, to, seed + r + 1);
              SwitchCostModel.Estimate e = lastEstimate;
              chosen =
                  e == null
                      ? "-"
                      : e.method() == SwitchMethod.SWITCH_METHOD_RECOMPUTE
                          ? "recompute"
                          : "transfer";
              if (r < 0) {
                continue;
              }
              double norm = BenchCommand.median(Arrays.copyOf(t, before));
              normal[r] = norm;
              sw[r] = t[before];
              stall[r] = (t[before] - norm) / norm;
              next[r] = t.length > before + 1 ? t[before + 1] : 0;
              for (int i = 0; i < t.length; i++) {
                steps.append(
                    String.format(
                        Locale.ROOT,
                        "%d,%s,%s,%d,%d,%.4f,%s%n",
                        ctx,
                        dir,
                        mname,
                        r,
                        i + 1,
                        t[i],
                        i == before));
              }
            }
            rows.add(
                new Row(
                    ctx,
                    dir,
                    from,
                    to,
                    mname,
                    chosen,
                    BenchCommand.median(normal),
                    percentile(sw, 0.5),
                    percentile(sw, 0.99),
                    percentile(stall, 0.5),
                    percentile(stall, 0.99),
                    BenchCommand.median(next)));
            Row x = rows.get(rows.size() - 1);
            System.err.printf(
                Locale.ROOT,
                "ctx %d %s %s: stall p50 %.2f p99 %.2f steps%n",
                ctx,
                dir,
                mname,
                x.stallP50(),
                x.stallP99());
          }
        }
      }
      String table = table(info, rows);
      System.out.print(table);
      if (out != null) {
        Files.createDirectories(out);
        Files.writeString(out.resolve("switch-bench.md"), table, StandardCharsets.UTF_8);
        Files.writeString(out.resolve("switch-bench.csv"), csv(rows), StandardCharsets.UTF_8);
        Files.writeString(out.resolve("switch-steps.csv"), steps, StandardCharsets.UTF_8);
      }
      return 0;
    } finally {
      UeClientMain.shutdown(edge);
    }
  }

  private SwitchCostModel.Config config(String method) {
    SwitchCostModel.Config c = SwitchCostModel.Config.parse(method);
    // a method picked by cost starts from the configured link rate
    return c.forced() == null ? c.withLinkMbps(linkMbps) : c;
  }

  private SwitchCostModel.Estimate lastEstimate;

  /**
   * One session; returns the times (ms) of decode steps 1..before+after, the switch in step
   * before+1.
   */
  private double[] session(
      ManagedChannel edge,
      UeModel model,
      ModelInfo info,
      SwitchCostModel costs,
      int ctx,
      int from,
      int to,
      long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    int[] prompt = new int[ctx - before];
    for (int i = 0; i < prompt.length; i++) {
      prompt[i] = 3 + rnd.nextInt(info.getVocabSize() - 3);
    }
    int n = before + after;
    GenerateRequest req =
        GenerateRequest.greedy(prompt, n + 8).withWireDtype(common.dtype()).withUeId(common.ueId());
    double[] t = new double[n];
    try (UeSession s =
        UeSession.open(
            edge, model, SessionOptions.generate(req), new SplitSource.Choice(from, 1))) {
      s.useSwitchCosts(costs);
      int chunk = s.maxChunk();
      for (int f = 0; f < prompt.length; f += chunk) {
        int e = Math.min(prompt.length, f + chunk);
        s.send(Arrays.copyOfRange(prompt, f, e), null, e == prompt.length, 0);
      }
      Token tok = s.nextToken();
      for (int step = 1; step <= n; step++) {
        long t0 = System.nanoTime();
        if (step == before + 1) {
          s.follow(new SplitSource.Choice(to, 2));
          lastEstimate = s.lastSwitch();
        }
        s.send(new int[] {tok.getId()}, null, true, step);
        tok = s.nextToken();
        t[step - 1] = (System.nanoTime() - t0) / 1e6;
      }
      s.finish();
    }
    return t;
  }

  private String table(ModelInfo info, List<Row> rows) {
    StringBuilder b = new StringBuilder();
    b.append(
        String.format(
            Locale.ROOT,
            "model %s: L=%d d=%d | %d normal steps, switch in step %d, repeats %d (p99 = largest"
                + " of %d), wire %s, threads %d%n",
            info.getModelId(),
            info.getNumLayers(),
            info.getHiddenSize(),
            before,
            before + 1,
            repeats,
            repeats,
            common.wireDtype,
            common.threads));
    b.append(
        "| context | direction | p | method | chosen | normal step ms | switch step ms p50 / p99 |"
            + " stall (decode steps) p50 / p99 | next step ms |\n");
    b.append("|---|---|---|---|---|---|---|---|---|\n");
    for (Row r : rows) {
      b.append(
          String.format(
              Locale.ROOT,
              "| %d | %s | %d -> %d | %s | %s | %.2f | %.2f / %.2f | %.2f / %.2f | %.2f |%n",
              r.context(),
              r.direction(),
              r.from(),
              r.to(),
              r.method(),
              r.chosen(),
              r.normalMs(),
              r.switchP50Ms(),
              r.switchP99Ms(),
              r.stallP50(),
              r.stallP99(),
              r.nextStepMs()));
    }
    return b.toString();
  }

  private static String csv(List<Row> rows) {
    StringBuilder b =
        new StringBuilder(
            "context,direction,from,to,method,chosen,normal_ms,switch_p50_ms,switch_p99_ms,"
                + "stall_steps_p50,stall_steps_p99,next_step_ms\n");
    for (Row r : rows) {
      b.append(
          String.format(
              Locale.ROOT,
              "%d,%s,%d,%d,%s,%s,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f%n",
              r.context(),
              r.direction(),
              r.from(),
              r.to(),
              r.method(),
              r.chosen(),
              r.normalMs(),
              r.switchP50Ms(),
              r.switchP99Ms(),
              r.stallP50(),
              r.stallP99(),
              r.nextStepMs()));
    }
    return b.toString();
  }
}
