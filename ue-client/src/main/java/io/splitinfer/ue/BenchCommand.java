package io.splitinfer.ue;

import io.grpc.ManagedChannel;
import io.splitinfer.proto.v1.ModelInfo;
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

  record Row(
      String mode,
      int split,
      double decodeMsPerToken,
      double decodeMinMs,
      double decodeMaxMs,
      double prefillTokensPerS,
      double ratio,
      double bytesPerStep,
      long floorBytes,
      double overheadPercent,
      double guessHitRate,
      boolean tokensMatch) {}

  /** One split row's runs. */
  private final class Cell {
    final int split;
    final Drafter ahead;
    final boolean sendAhead;
    final double[] decode = new double[repeats];
    final double[] prefill = new double[repeats];
    final double[] ratio = new double[repeats];
    boolean match = true;
    GenerationResult last;
    long hits;
    long misses;

    Cell(int split, Drafter ahead, boolean sendAhead) {
      this.split = split;
      this.ahead = ahead;
      this.sendAhead = sendAhead;
    }

    String mode() {
      return ahead == null
          ? "split"
          : sendAhead ? "split+lookahead (ahead)" : "split+lookahead (on token)";
    }

    double hitRate() {
      return ahead == null ? Double.NaN : (double) hits / Math.max(1, hits + misses);
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
      List<Cell> cells = new ArrayList<>();
      for (int p : ps) {
        cells.add(new Cell(p, null, false));
        if (guesser != null) {
          cells.add(new Cell(p, guesser, false));
          cells.add(new Cell(p, guesser, true));
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
          SplitGenerator gen = client.generator().withLookahead(c.ahead, c.sendAhead);
          GenerationResult g = gen.generate(req, c.split, t -> {});
          c.match &= Arrays.equals(g.tokenIds(), reference);
          c.last = g;
          if (r >= 0) {
            if (gen.lookahead() != null) {
              c.hits += gen.lookahead().stats().hits();
              c.misses += gen.lookahead().stats().misses();
            }
            c.decode[r] = g.decodeNanos() / 1e6 / (g.tokenIds().length - 1);
            c.prefill[r] = prompt.length / (g.timeToFirstTokenNanos() / 1e9);
            c.ratio[r] = c.decode[r] / monoDecode[r];
          }
        }
      }
      double mono = median(monoDecode);
      List<Row> rows = new ArrayList<>();
      rows.add(
          new Row(
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
            new Row(
                c.mode(),
                c.split,
                median(c.decode),
                min(c.decode),
                max(c.decode),
                median(c.prefill),
                median(c.ratio),
                c.last.bytesPerDecodeStep(),
                c.last.floorBytesPerStep(),
                c.last.framingOverheadPercent(),
                c.hitRate(),
                c.match));
      }
      StringBuilder table = new StringBuilder();
      table.append(
          String.format(
              Locale.ROOT,
              "model %s: L=%d d=%d vocab=%d | prompt %d (%s), new %d, rounds %d after %d warm-up,"
                  + " wire %s, threads %d%n",
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
              common.threads));
      table.append(
          "| mode | p | decode ms/token, median [min, max] of rounds | ratio vs mono (median of"
              + " rounds) | prefill tok/s | bytes/step | floor | framing | lookahead hits |"
              + " tokens == mono |\n");
      table.append("|---|---|---|---|---|---|---|---|---|---|\n");
      StringBuilder csv =
          new StringBuilder(
              "mode,split,decode_ms_per_token,decode_min_ms,decode_max_ms,ratio,prefill_tokens_per_s,bytes_per_step,floor_bytes,overhead_percent,guess_hit_rate,tokens_match\n");
      StringBuilder json = new StringBuilder("[\n");
      for (int i = 0; i < rows.size(); i++) {
        Row r = rows.get(i);
        table.append(
            String.format(
                Locale.ROOT,
                "| %s | %d | %.3f [%.3f, %.3f] | %.3f | %.1f | %.1f | %d | %.2f%% | %s | %s |%n",
                r.mode(),
                r.split(),
                r.decodeMsPerToken(),
                r.decodeMinMs(),
                r.decodeMaxMs(),
                r.ratio(),
                r.prefillTokensPerS(),
                r.bytesPerStep(),
                r.floorBytes(),
                r.overheadPercent(),
                Double.isNaN(r.guessHitRate())
                    ? "-"
                    : String.format(Locale.ROOT, "%.1f%%", 100 * r.guessHitRate()),
                r.tokensMatch()));
        csv.append(
            String.format(
                Locale.ROOT,
                "%s,%d,%.4f,%.4f,%.4f,%.4f,%.2f,%.1f,%d,%.3f,%.4f,%s%n",
                r.mode(),
                r.split(),
                r.decodeMsPerToken(),
                r.decodeMinMs(),
                r.decodeMaxMs(),
                r.ratio(),
                r.prefillTokensPerS(),
                r.bytesPerStep(),
                r.floorBytes(),
                r.overheadPercent(),
                r.guessHitRate(),
                r.tokensMatch()));
        json.append(
            String.format(
                Locale.ROOT,
                "  {\"mode\":\"%s\",\"split\":%d,\"decode_ms_per_token\":%.4f,"
                    + "\"decode_min_ms\":%.4f,\"decode_max_ms\":%.4f,\"ratio\":%.4f,"
                    + "\"prefill_tokens_per_s\":%.2f,\"bytes_per_step\":%.1f,\"floor_bytes\":%d,"
                    + "\"overhead_percent\":%.3f,\"guess_hit_rate\":%s,\"tokens_match\":%s}%s%n",
                r.mode(),
                r.split(),
                r.decodeMsPerToken(),
                r.decodeMinMs(),
                r.decodeMaxMs(),
                r.ratio(),
                r.prefillTokensPerS(),
                r.bytesPerStep(),
                r.floorBytes(),
                r.overheadPercent(),
                Double.isNaN(r.guessHitRate())
                    ? "null"
                    : String.format(Locale.ROOT, "%.4f", r.guessHitRate()),
                r.tokensMatch(),
                i + 1 < rows.size() ? "," : ""));
      }
      json.append("]\n");
      System.out.print(table);
      if (out != null) {
        Files.createDirectories(out);
        Files.writeString(out.resolve("bench.csv"), csv, StandardCharsets.UTF_8);
        Files.writeString(out.resolve("bench.json"), json, StandardCharsets.UTF_8);
        Files.writeString(out.resolve("bench.md"), table, StandardCharsets.UTF_8);
      }
      return rows.stream().allMatch(Row::tokensMatch) ? 0 : 1;
    } finally {
      UeClientMain.shutdown(edge);
    }
  }
}
