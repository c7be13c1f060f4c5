package io.splitinfer.ue;

import io.grpc.ManagedChannel;
import io.splitinfer.proto.v1.ModelInfo;
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
 * Split over the network against the whole model in this process (same engine, same threads):
 * per-token decode latency, prefill throughput, bytes per decode step vs the floor. Greedy, so the
 * split run must also produce the monolithic tokens, which is checked. Runs alternate (monolithic,
 * then each split) round by round after {@code --warmup} rounds, so that the ratio compares runs
 * taken under the same load: the ratio column is the median of the per-round ratios.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = "Benchmarks split generation over the network against monolithic generation.")
final class BenchCommand implements Callable<Integer> {
  @Mixin UeClientMain.Common common;

  @Option(names = "--splits", description = "Comma-separated splits (default: 1, L/2, L-1).")
  String splits;

  @Option(names = "--prompt-tokens", defaultValue = "128")
  int promptTokens;

  @Option(names = "--new-tokens", defaultValue = "64")
  int newTokens;

  @Option(
      names = "--held-out",
      defaultValue = "0",
      description =
          "Prompts cut from the package's held-out text, one per round in turn (BOS +"
              + " --prompt-tokens ids); 0 = one prompt of random ids.")
  int heldOut;

  @Option(
      names = "--repeats",
      defaultValue = "10",
      description = "Measured rounds (one run of every row each).")
  int repeats;

  @Option(
      names = "--warmup",
      defaultValue = "20",
      description =
          "Unmeasured rounds first: both JVMs' JIT compilers need a few thousand steps before the"
              + " per-token path is compiled.")
  int warmup;

  @Option(names = "--out", description = "Directory for bench.csv and bench.json.")
  Path out;

  @Option(
      names = "--lookahead",
      description =
          "Also run every split with lookahead (the UE computes its guess of the next token while"
              + " the edge works) guessing with this drafter (auto, early-exit, lookup, ngram,"
              + " ngram:FILE); two more rows per split: guessed rows armed until their token"
              + " arrives (on token), and sent ahead as conditional rows (ahead).")
  String lookahead;

  @Option(
      names = "--spec",
      description =
          "Also run every split with speculative decoding, one row per K[a][cP][-ahead] (e.g."
              + " 2,2-ahead: k drafts, 'a' adaptive, '-ahead' each next round sent ahead), drafting"
              + " with --spec-drafter.")
  String spec;

  @Option(
      names = "--spec-drafter",
      defaultValue = "auto",
      description = "Drafter of the --spec rows (auto, early-exit, lookup, ngram, ngram:FILE).")
  String specDrafter;

  /** One split row's runs: plain, with lookahead, or speculative. */
  private final class Cell {
    final int split;
    final Drafter ahead;
    final boolean sendAhead;
    final Drafter drafter;
    final SpecSetting spec;
    final double[] decode = new double[repeats];
    final double[] prefill = new double[repeats];
    final double[] ratio = new double[repeats];
    boolean match = true;
    GenerationResult last;
    long hits;
    long misses;

    Cell(int split, Drafter ahead, boolean sendAhead) {
      this(split, ahead, sendAhead, null, null);
    }

    Cell(int split, Drafter ahead, boolean sendAhead, Drafter drafter, SpecSetting spec) {
      this.split = split;
      this.ahead = ahead;
      this.sendAhead = sendAhead;
      this.drafter = drafter;
      this.spec = spec;
    }

    String mode() {
      if (spec != null) {
        return "split+spec k " + spec.label();
      }
      return ahead == null
          ? "split"
          : sendAhead ? "split+lookahead (ahead)" : "split+lookahead (on token)";
    }

    SplitGenerator generator(UeClient client) {
      SplitGenerator g = client.generator().withLookahead(ahead, sendAhead);
      return spec == null ? g : g.withSpeculation(spec.decoder(drafter));
    }

    /** Lookahead's right guesses, or speculation's accepted drafts, of all. */
    double hitRate() {
      return ahead == null && spec == null
          ? Double.NaN
          : (double) hits / Math.max(1, hits + misses);
    }
  }

  static double min(double[] v) {
    return Arrays.stream(v).min().orElse(Double.NaN);
  }

  static double max(double[] v) {
    return Arrays.stream(v).max().orElse(Double.NaN);
  }

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  @Override
  public Integer call() throws Exception {
    if (heldOut < 0) {
      throw new CliErrors.Refused("--held-out must be >= 0, got " + heldOut);
    }
    if (lookahead != null && !Drafter.isName(lookahead)) {
      throw new CliErrors.Refused("--lookahead must be " + Drafter.NAMES + ", got " + lookahead);
    }
    List<SpecSetting> specs = new ArrayList<>();
    if (spec != null) {
      for (String k : spec.split(",")) {
        try {
          specs.add(SpecSetting.parse(k));
        } catch (IllegalArgumentException e) {
          throw new CliErrors.Refused("--spec: " + e.getMessage());
        }
      }
    }
    if (!Drafter.isName(specDrafter)) {
      throw new CliErrors.Refused(
          "--spec-drafter must be " + Drafter.NAMES + ", got " + specDrafter);
    }
    ManagedChannel edge = UeClientMain.channel(common.edge, common.tls);
    try (LoadedModel m = LoadedModel.open(common.model, common.threads, common.engine)) {
      UeClient client = new UeClient(edge, m.ueModel());
      ModelInfo info = client.modelInfo();
      int layers = info.getNumLayers();
      int chunk = info.getMaxChunkTokens();
      int[] ps =
          splits == null
              ? new int[] {1, layers / 2, layers - 1}
              : Arrays.stream(splits.split(","))
                  .mapToInt(s -> Integer.parseInt(s.trim()))
                  .toArray();
      List<int[]> prompts = new ArrayList<>();
      if (heldOut > 0) {
        prompts.addAll(m.heldOutPrompts(heldOut, promptTokens, info.getBosTokenId()));
      } else {
        SplittableRandom rnd = new SplittableRandom(1);
        int[] prompt = new int[promptTokens];
        for (int i = 0; i < promptTokens; i++) {
          prompt[i] = 3 + rnd.nextInt(info.getVocabSize() - 3);
        }
        prompts.add(prompt);
      }
      LocalGenerator local = new LocalGenerator(m.engine);

      Drafter guesser = lookahead == null ? null : SpecFlags.build(m, lookahead, "");
      Drafter drafter =
          specs.isEmpty() ? null : SpecFlags.build(m, specDrafter, "--spec-drafter: ");
      List<Cell> cells = new ArrayList<>();
      for (int p : ps) {
        cells.add(new Cell(p, null, false));
        if (guesser != null) {
          cells.add(new Cell(p, guesser, false));
          cells.add(new Cell(p, guesser, true));
        }
        for (SpecSetting k : specs) {
          cells.add(new Cell(p, null, false, drafter, k));
        }
      }
      int[] reference = null;
      double[] monoDecode = new double[repeats];
      double[] monoPrefill = new double[repeats];
      for (int r = -warmup - 1; r < repeats; r++) {
        int[] prompt = prompts.get(Math.floorMod(r, prompts.size()));
        GenerateRequest req =
            GenerateRequest.greedy(prompt, newTokens)
                .withWireDtype(common.dtype())
                .withUeId(common.ueId());
        LocalGenerator.Result res = local.greedy(prompt, newTokens, chunk);
        reference = res.tokens();
        if (r >= 0) {
          monoDecode[r] = Arrays.stream(res.decodeStepNanos()).average().orElse(0) / 1e6;
          monoPrefill[r] = prompt.length / (res.prefillNanos() / 1e9);
        }
        for (Cell c : cells) {
          SplitGenerator gen = c.generator(client);
          GenerationResult g = gen.generate(req, c.split, t -> {});
          c.match &= Arrays.equals(g.tokenIds(), reference);
          c.last = g;
          if (r >= 0) {
            if (gen.lookahead() != null) {
              c.hits += gen.lookahead().stats().hits();
              c.misses += gen.lookahead().stats().misses();
            }
            if (gen.speculation() != null) {
              c.hits += gen.speculation().stats().accepted();
              c.misses +=
                  gen.speculation().stats().drafted() - gen.speculation().stats().accepted();
            }
            c.decode[r] = g.decodeNanos() / 1e6 / (g.tokenIds().length - 1);
            c.prefill[r] = prompt.length / (g.timeToFirstTokenNanos() / 1e9);
            c.ratio[r] = c.decode[r] / monoDecode[r];
          }
        }
      }
      double mono = median(monoDecode);
      List<BenchReport.Row> rows = new ArrayList<>();
      rows.add(
          new BenchReport.Row(
              "monolithic",
              layers,
              mono,
              min(monoDecode),
              max(monoDecode),
              median(monoPrefill),
              1.0,
              0,
              0,
              0,
              Double.NaN,
              true));
      for (Cell c : cells) {
        rows.add(
            new BenchReport.Row(
                c.mode(),
                c.split,
                median(c.decode),
                min(c.decode),
                max(c.decode),
                median(c.prefill),
                median(c.ratio),
                c.last.bytesPerDecodeToken(),
                c.last.floorBytesPerStep(),
                100.0 * (c.last.bytesPerDecodeToken() / c.last.floorBytesPerStep() - 1),
                c.hitRate(),
                c.match));
      }
      BenchReport report =
          new BenchReport(
              String.format(
                  Locale.ROOT,
                  "model %s: L=%d d=%d vocab=%d | prompt %d (%s), new %d, rounds %d after %d"
                      + " warm-up, wire %s, threads %d",
                  info.getModelId(),
                  layers,
                  info.getHiddenSize(),
                  info.getVocabSize(),
                  promptTokens,
                  heldOut > 0 ? prompts.size() + " held-out" : "random ids",
                  newTokens,
                  repeats,
                  warmup,
                  common.wireDtype,
                  common.threads),
              rows);
      System.out.print(report.markdown());
      if (out != null) {
        report.write(out);
      }
      return rows.stream().allMatch(BenchReport.Row::tokensMatch) ? 0 : 1;
    } finally {
      UeClientMain.shutdown(edge);
    }
  }
}
