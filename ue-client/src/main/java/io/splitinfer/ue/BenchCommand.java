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
 * split run must also produce the monolithic tokens, which is checked.
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
      names = "--repeats",
      defaultValue = "5",
      description = "Measured runs per row (after one warm-up).")
  int repeats;

  @Option(names = "--out", description = "Directory for bench.csv and bench.json.")
  Path out;

  record Row(
      String mode,
      int split,
      double decodeMsPerToken,
      double prefillTokensPerS,
      double ratio,
      double bytesPerStep,
      long floorBytes,
      double overheadPercent,
      boolean tokensMatch) {}

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  @Override
  public Integer call() throws Exception {
    ManagedChannel edge = UeClientMain.channel(common.edge, common.tls);
    try (LoadedModel m = LoadedModel.open(common.model, common.threads)) {
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
      SplittableRandom rnd = new SplittableRandom(1);
      int[] prompt = new int[promptTokens];
      for (int i = 0; i < promptTokens; i++) {
        prompt[i] = 3 + rnd.nextInt(info.getVocabSize() - 3);
      }
      LocalGenerator local = new LocalGenerator(m.engine);
      int[] reference = null;
      double[] monoDecode = new double[repeats];
      double[] monoPrefill = new double[repeats];
      for (int r = -1; r < repeats; r++) {
        LocalGenerator.Result res = local.greedy(prompt, newTokens, chunk);
        reference = res.tokens();
        if (r >= 0) {
          monoDecode[r] = Arrays.stream(res.decodeStepNanos()).average().orElse(0) / 1e6;
          monoPrefill[r] = promptTokens / (res.prefillNanos() / 1e9);
        }
      }
      double mono = median(monoDecode);
      List<Row> rows = new ArrayList<>();
      rows.add(new Row("monolithic", layers, mono, median(monoPrefill), 1.0, 0, 0, 0, true));
      GenerateRequest req =
          GenerateRequest.greedy(prompt, newTokens)
              .withWireDtype(common.dtype())
              .withUeId(common.ueId());
      for (int p : ps) {
        double[] dec = new double[repeats];
        double[] pre = new double[repeats];
        GenerationResult last = null;
        boolean match = true;
        for (int r = -1; r < repeats; r++) {
          GenerationResult g = client.generator().generate(req, p, t -> {});
          match &= Arrays.equals(g.tokenIds(), reference);
          last = g;
          if (r >= 0) {
            dec[r] = g.decodeNanos() / 1e6 / (g.tokenIds().length - 1);
            pre[r] = promptTokens / (g.timeToFirstTokenNanos() / 1e9);
          }
        }
        double d = median(dec);
        rows.add(
            new Row(
                "split",
                p,
                d,
                median(pre),
                d / mono,
                last.bytesPerDecodeStep(),
                last.floorBytesPerStep(),
                last.framingOverheadPercent(),
                match));
      }
      StringBuilder table = new StringBuilder();
      table.append(
          String.format(
              Locale.ROOT,
              "model %s: L=%d d=%d vocab=%d | prompt %d, new %d, repeats %d, wire %s, threads %d%n",
              info.getModelId(),
              layers,
              info.getHiddenSize(),
              info.getVocabSize(),
              promptTokens,
              newTokens,
              repeats,
              common.wireDtype,
              common.threads));
      table.append(
          "| mode | p | decode ms/token | ratio vs mono | prefill tok/s | bytes/step | floor | framing | tokens == mono |\n");
      table.append("|---|---|---|---|---|---|---|---|---|\n");
      StringBuilder csv =
          new StringBuilder(
              "mode,split,decode_ms_per_token,ratio,prefill_tokens_per_s,bytes_per_step,floor_bytes,overhead_percent,tokens_match\n");
      StringBuilder json = new StringBuilder("[\n");
      for (int i = 0; i < rows.size(); i++) {
        Row r = rows.get(i);
        table.append(
            String.format(
                Locale.ROOT,
                "| %s | %d | %.3f | %.3f | %.1f | %.1f | %d | %.2f%% | %s |%n",
                r.mode(),
                r.split(),
                r.decodeMsPerToken(),
                r.ratio(),
                r.prefillTokensPerS(),
                r.bytesPerStep(),
                r.floorBytes(),
                r.overheadPercent(),
                r.tokensMatch()));
        csv.append(
            String.format(
                Locale.ROOT,
                "%s,%d,%.4f,%.4f,%.2f,%.1f,%d,%.3f,%s%n",
                r.mode(),
                r.split(),
                r.decodeMsPerToken(),
                r.ratio(),
                r.prefillTokensPerS(),
                r.bytesPerStep(),
                r.floorBytes(),
                r.overheadPercent(),
                r.tokensMatch()));
        json.append(
            String.format(
                Locale.ROOT,
                "  {\"mode\":\"%s\",\"split\":%d,\"decode_ms_per_token\":%.4f,\"ratio\":%.4f,"
                    + "\"prefill_tokens_per_s\":%.2f,\"bytes_per_step\":%.1f,\"floor_bytes\":%d,"
                    + "\"overhead_percent\":%.3f,\"tokens_match\":%s}%s%n",
                r.mode(),
                r.split(),
                r.decodeMsPerToken(),
                r.ratio(),
                r.prefillTokensPerS(),
                r.bytesPerStep(),
                r.floorBytes(),
                r.overheadPercent(),
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
