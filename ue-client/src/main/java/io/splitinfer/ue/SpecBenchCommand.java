package io.splitinfer.ue;

import io.grpc.ManagedChannel;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.proto.v1.ChannelControlGrpc;
import io.splitinfer.proto.v1.ChannelParameters;
import io.splitinfer.proto.v1.GetParametersRequest;
import io.splitinfer.proto.v1.ModelInfo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Speculative decoding across the split against one token per round trip, through channel-sim with
 * a one-way delay on both directions (set through its ChannelControl on the {@code --edge} address,
 * restored after): decode tokens/s (median and range over the runs), acceptance and tokens per
 * round trip beside the 1/RTT ceiling of one-token-per-round-trip decoding, greedy on held-out
 * prompts; every speculative run's tokens must equal the plain split's. Also the early exit's
 * per-position agreement with the whole model for every p ({@link EarlyExitAgreement}). Table +
 * spec-bench.csv/json/md ({@link SpecBenchReport}).
 */
@Command(
    name = "spec-bench",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = "Benchmarks speculative decoding across the split through channel-sim delays.")
final class SpecBenchCommand implements Callable<Integer> {
  @Mixin UeClientMain.Common common;

  @Option(
      names = "--delays",
      defaultValue = "0,10,20",
      description =
          "One-way delays (ms, both directions) set on channel-sim at --edge; empty = leave the"
              + " link as it is.")
  String delays;

  @Option(names = "--split", defaultValue = "6")
  int split;

  @Option(
      names = "--ks",
      defaultValue = "4",
      description =
          "Comma-separated k of the speculative rows; a suffix 'a' = adaptive in [1, k], then"
              + " '-ahead' = each next round sent ahead (--send-ahead), e.g. 4,4a,2-ahead,4a-ahead.")
  String ks;

  @Option(
      names = "--drafters",
      defaultValue = "early-exit",
      description = "Comma-separated drafters of the speculative rows: early-exit, lookup, ngram.")
  String drafters;

  @Option(names = "--prompts", defaultValue = "4", description = "Held-out prompts per run.")
  int prompts;

  @Option(names = "--prompt-tokens", defaultValue = "128")
  int promptTokens;

  @Option(names = "--new-tokens", defaultValue = "64")
  int newTokens;

  @Option(
      names = "--repeats",
      defaultValue = "3",
      description = "Measured runs per row (after one warm-up).")
  int repeats;

  @Option(names = "--out", description = "Directory for spec-bench.csv / .json / .md.")
  Path out;

  @Override
  public Integer call() throws Exception {
    List<SpecSetting> settings = new ArrayList<>();
    for (String kSpec : ks.split(",")) {
      try {
        settings.add(SpecSetting.parse(kSpec));
      } catch (IllegalArgumentException e) {
        throw new CliErrors.Refused("--ks: " + e.getMessage());
      }
    }
    ManagedChannel edge = UeClientMain.channel(common.edge, common.tls);
    try (LoadedModel m = LoadedModel.open(common.model, common.threads, common.engine)) {
      Map<String, Drafter> byName = drafters(m);
      UeClient client = new UeClient(edge, m.ueModel());
      ModelInfo info = client.modelInfo();
      List<int[]> promptIds =
          m.heldOutPrompts(
              prompts,
              Math.min(promptTokens, info.getMaxPositions() - newTokens - 1),
              info.getBosTokenId());
      SpecBenchReport report =
          new SpecBenchReport(
              String.format(
                  java.util.Locale.ROOT,
                  "model %s: L=%d d=%d vocab=%d | split %d | %d held-out prompts of %d tokens,"
                      + " %d new, greedy | %d runs (median [min, max]) | wire %s, threads %d |"
                      + " load average %s",
                  info.getModelId(),
                  info.getNumLayers(),
                  info.getHiddenSize(),
                  info.getVocabSize(),
                  split,
                  promptIds.size(),
                  promptTokens,
                  newTokens,
                  repeats,
                  common.wireDtype,
                  common.threads,
                  loadAverage()));
      report.agreement(agreement(m.engine, promptIds, info.getMaxChunkTokens()));
      ChannelControlGrpc.ChannelControlBlockingStub control =
          ChannelControlGrpc.newBlockingStub(edge);
      ChannelParameters before =
          delays.isBlank()
              ? null
              : control.getParameters(GetParametersRequest.getDefaultInstance());
      boolean allMatch = true;
      try {
        for (double delay : delayList()) {
          if (before != null) {
            control.setParameters(
                before.toBuilder()
                    .setUplink(before.getUplink().toBuilder().setDelayMs(delay))
                    .setDownlink(before.getDownlink().toBuilder().setDelayMs(delay))
                    .build());
          }
          int[][] reference = new int[promptIds.size()][];
          // Interleaved: every run goes once through every configuration, so a change of the
          // machine's load during the benchmark hits them all alike.
          List<Cell> cells = new ArrayList<>();
          cells.add(new Cell("-", new SpecSetting(0, false, 0, false), repeats));
          for (String drafter : drafters.split(",")) {
            for (SpecSetting setting : settings) {
              cells.add(new Cell(drafter.trim(), setting, repeats));
            }
          }
          for (int r = -1; r < repeats; r++) {
            for (Cell cell : cells) {
              runOnce(client, promptIds, reference, cell, r, byName);
            }
          }
          double plain = cells.get(0).median();
          for (Cell cell : cells) {
            SpecBenchReport.Row row = cell.row(delay, plain);
            allMatch &= row.identical();
            report.add(row);
            System.err.println(report.line(row));
          }
        }
      } finally {
        if (before != null) {
          control.setParameters(before);
        }
      }
      System.out.print(report.markdown());
      if (out != null) {
        Files.createDirectories(out);
        Files.writeString(out.resolve("spec-bench.csv"), report.csv(), StandardCharsets.UTF_8);
        Files.writeString(out.resolve("spec-bench.json"), report.json(), StandardCharsets.UTF_8);
        Files.writeString(out.resolve("spec-bench.md"), report.markdown(), StandardCharsets.UTF_8);
      }
      return allMatch ? 0 : 1;
    } finally {
      UeClientMain.shutdown(edge);
    }
  }

  private double[] delayList() {
    if (delays.isBlank()) {
      return new double[] {Double.NaN};
    }
    return Arrays.stream(delays.split(","))
        .mapToDouble(s -> Double.parseDouble(s.trim()))
        .toArray();
  }

  /** One configuration's runs at one delay. */
  private static final class Cell {
    final String drafter;
    final SpecSetting spec;
    final double[] tps;
    long roundsAhead;
    long rounds;
    long drafted;
    long accepted;
    long tokens;
    long draftNanos;
    long waitNanos;
    boolean identical = true;

    Cell(String drafter, SpecSetting spec, int repeats) {
      this.drafter = drafter;
      this.spec = spec;
      this.tps = new double[repeats];
    }

    double median() {
      return BenchCommand.median(tps);
    }

    SpecBenchReport.Row row(double delay, double plain) {
      double[] sorted = tps.clone();
      Arrays.sort(sorted);
      return new SpecBenchReport.Row(
          delay,
          spec.k() == 0 ? "-" : drafter,
          spec.k(),
          spec.adaptive(),
          spec.minChance(),
          spec.ahead(),
          rounds == 0 ? 0 : (double) roundsAhead / rounds,
          median(),
          sorted[0],
          sorted[sorted.length - 1],
          plain == 0 ? 1 : median() / plain,
          drafted == 0 ? Double.NaN : (double) accepted / drafted,
          rounds == 0 ? 0 : (double) tokens / rounds,
          rounds == 0 || spec.k() == 0 ? Double.NaN : draftNanos / 1e6 / rounds,
          rounds == 0 || spec.k() == 0 ? Double.NaN : waitNanos / 1e6 / rounds,
          identical);
    }
  }

  /**
   * Every drafter of --drafters, built once, as generate and serve build theirs: an n-gram table
   * made for another vocabulary or tokenizer, a missing table file or an unknown name is refused
   * before anything is measured (exit 2).
   */
  private Map<String, Drafter> drafters(LoadedModel m) {
    Map<String, Drafter> out = new java.util.LinkedHashMap<>();
    for (String name : drafters.split(",")) {
      String n = name.trim();
      if (!Drafter.isName(n)) {
        throw new CliErrors.Refused("--drafters: " + n + " is not " + Drafter.NAMES);
      }
      out.put(n, SpecFlags.build(m, n, "--drafters: "));
    }
    return out;
  }

  /**
   * Run {@code r} (-1 = warm-up, not counted) of {@code cell} over all prompts; the k = 0 cell's
   * warm-up sets the reference tokens.
   */
  private void runOnce(
      UeClient client,
      List<int[]> promptIds,
      int[][] reference,
      Cell cell,
      int r,
      Map<String, Drafter> byName) {
    long decodeTokens = 0;
    long decodeNanos = 0;
    for (int i = 0; i < promptIds.size(); i++) {
      SplitGenerator g =
          client.generator().withSpeculation(cell.spec.decoder(byName.get(cell.drafter)));
      GenerateRequest req =
          GenerateRequest.greedy(promptIds.get(i), newTokens)
              .withWireDtype(common.dtype())
              .withUeId(common.ueId());
      GenerationResult res = g.generate(req, split, t -> {});
      if (reference[i] == null) {
        reference[i] = res.tokenIds();
      }
      cell.identical &= Arrays.equals(reference[i], res.tokenIds());
      if (r < 0) {
        continue;
      }
      decodeTokens += res.tokenIds().length - 1;
      decodeNanos += res.decodeNanos();
      if (g.speculation() != null) {
        SpecDecoder.Stats st = g.speculation().stats();
        cell.rounds += st.rounds();
        cell.drafted += st.drafted();
        cell.accepted += st.accepted();
        cell.tokens += st.tokens();
        cell.draftNanos += st.draftNanos();
        cell.waitNanos += st.waitNanos();
        cell.roundsAhead += st.roundsAhead();
      } else {
        cell.rounds += res.decodeSteps();
        cell.tokens += res.tokenIds().length - 1;
      }
    }
    if (r >= 0) {
      cell.tps[r] = decodeTokens / (decodeNanos / 1e9);
    }
  }

  /** Early-exit agreement per p over the prompts' greedy continuations (whole model, locally). */
  private double[] agreement(InferenceEngine engine, List<int[]> promptIds, int chunk) {
    EarlyExitAgreement a = new EarlyExitAgreement(engine);
    LocalGenerator local = new LocalGenerator(engine);
    long[] agree = new long[engine.config().numLayers() + 1];
    long positions = 0;
    for (int[] p : promptIds) {
      int[] gen = local.greedy(p, newTokens, chunk).tokens();
      int[] seq = Arrays.copyOf(p, p.length + gen.length - 1);
      System.arraycopy(gen, 0, seq, p.length, gen.length - 1);
      long[] c = a.agreements(seq, p.length - 1, chunk);
      for (int i = 0; i < c.length; i++) {
        agree[i] += c[i];
      }
      positions += seq.length - (p.length - 1);
    }
    double[] out = new double[agree.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = (double) agree[i] / positions;
    }
    return out;
  }

  static String loadAverage() {
    try {
      String s = Files.readString(Path.of("/proc/loadavg"));
      String[] f = s.trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (java.io.IOException | RuntimeException e) {
      return "n/a";
    }
  }
}
