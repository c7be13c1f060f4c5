package io.splitinfer.model.cli;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.onnx.OnnxEngine;
import io.splitinfer.model.pkg.ModelPackage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code model memory}: what a UE-only process holds. Loads the embedding and layers 1..p only,
 * runs a prompt of {@code --prompt-tokens} through them (chunked per {@code --prefill-chunk}),
 * decodes a few tokens, and prints one JSON line with the part bytes, the KV bytes and the peak
 * resident memory ({@code VmHWM}) of this process.
 *
 * <p>Either engine ({@code --engine onnx|vector}); the vector engine reads a layer on its first
 * use, so it holds the range's layers only, on the Java heap.
 *
 * <p>{@code --side edge} measures the edge's half instead: layers p+1..L and the head, fed hidden
 * states of the prompt's length (seeded values of unit RMS: what the values are does not change
 * what is allocated), the head run on the last position of the prompt and on every decoded one, as
 * the edge does. It is the model side of an edge serving one session, without its gRPC server.
 */
@Command(
    name = "memory",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description =
        "Peak resident memory of a UE-only process (embedding + layers 1..p) after a prompt of"
            + " --prompt-tokens and a few decode steps; prints one JSON line.")
final class MemoryCommand implements Callable<Integer> {
  @Parameters(arity = "0..1", paramLabel = "DIR", description = "Package (default: embedded).")
  Path dir;

  @Option(names = "--split", defaultValue = "1", description = "p: the UE runs layers 1..p.")
  int split;

  @Option(names = "--prompt-tokens", defaultValue = "64", description = "Prompt length.")
  int promptTokens;

  @Option(names = "--decode", defaultValue = "4", description = "Decode steps after the prompt.")
  int decode;

  @Option(
      names = "--side",
      defaultValue = "ue",
      description = "ue: embedding + layers 1..p; edge: layers p+1..L + head.")
  String side;

  @Mixin ModelCli.EngineFlags engine;

  @Override
  public Integer call() throws IOException {
    ModelPackage p = ModelCli.openPackage(dir);
    ModelConfig c = p.config();
    if (split < 1 || split > c.numLayers()) {
      throw new IllegalArgumentException("--split must be in 1.." + c.numLayers());
    }
    if (!side.equals("ue") && !side.equals("edge")) {
      throw new IllegalArgumentException("--side must be ue or edge, got " + side);
    }
    boolean edge = side.equals("edge");
    if (edge && split >= c.numLayers()) {
      throw new IllegalArgumentException("--side edge needs --split below " + c.numLayers());
    }
    int from = edge ? split + 1 : 1;
    int to = edge ? c.numLayers() : split;
    int d = c.hiddenSize();
    double startMb = ProcMemory.mb("VmRSS");
    long t0 = System.nanoTime();
    long partBytes;
    try (InferenceEngine e = engine.open(p);
        KvCache kv = e.newCache(from, to)) {
      if (e instanceof OnnxEngine onnx) {
        onnx.warmUp(!edge, from, to, edge);
      }
      double loadedMb = ProcMemory.mb("VmRSS");
      if (edge) {
        SplittableRandom rng = new SplittableRandom(promptTokens);
        float[] h = e.runLayers(from, to, unitRms(rng, promptTokens * d), promptTokens, kv);
        e.head(Arrays.copyOfRange(h, h.length - d, h.length), 1);
        for (int i = 0; i < decode; i++) {
          e.head(e.runLayers(from, to, unitRms(rng, d), 1, kv), 1);
        }
        partBytes =
            BenchCommand.ueBytes(p.manifest(), c.numLayers())
                - BenchCommand.ueBytes(p.manifest(), split)
                + BenchCommand.partBytes(p.manifest(), p.manifest().headFile());
      } else {
        int[] prompt = new int[promptTokens];
        for (int i = 0; i < promptTokens; i++) {
          prompt[i] = (i * 31 + 7) % c.vocabSize();
        }
        float[] h = e.runLayers(1, split, e.embed(prompt), promptTokens, kv);
        for (int i = 0; i < decode; i++) {
          int next = Math.floorMod(Float.floatToIntBits(h[h.length - 1]) + i, c.vocabSize());
          h = e.runLayers(1, split, e.embed(new int[] {next}), 1, kv);
        }
        partBytes = BenchCommand.ueBytes(p.manifest(), split);
      }
      Runtime rt = Runtime.getRuntime();
      System.out.printf(
          Locale.ROOT,
          "{\"side\":\"%s\",\"weights\":\"%s\",\"split\":%d,\"prompt_tokens\":%d,\"decode\":%d,"
              + "\"engine\":\"%s\",\"prefill_chunk\":%d,\"arena\":%b,\"part_bytes\":%d,"
              + "\"kv_bytes\":%d,"
              + "\"rss_start_mb\":%.1f,\"rss_loaded_mb\":%.1f,\"rss_mb\":%.1f,\"peak_rss_mb\":%.1f,"
              + "\"heap_used_mb\":%.1f,\"seconds\":%.2f}%n",
          side,
          p.manifest().layerWeightFormat(edge ? Math.min(split + 1, c.numLayers()) : split),
          split,
          promptTokens,
          decode,
          engine.kind.name().toLowerCase(Locale.ROOT),
          engine.prefillChunk,
          engine.arena,
          partBytes,
          kv.bytes(),
          startMb,
          loadedMb,
          ProcMemory.mb("VmRSS"),
          ProcMemory.mb("VmHWM"),
          (rt.totalMemory() - rt.freeMemory()) / 1048576.0,
          (System.nanoTime() - t0) / 1e9);
    }
    return 0;
  }

  /** n seeded values of RMS 1 (uniform in ±√3). */
  private static float[] unitRms(SplittableRandom rng, int n) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) ((rng.nextDouble() * 2 - 1) * Math.sqrt(3));
    }
    return x;
  }
}
