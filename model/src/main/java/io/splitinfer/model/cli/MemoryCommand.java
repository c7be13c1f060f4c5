package io.splitinfer.model.cli;

import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.onnx.OnnxEngine;
import io.splitinfer.model.pkg.ModelPackage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
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

  @Mixin ModelCli.EngineFlags engine;

  @Override
  public Integer call() throws IOException {
    ModelPackage p = ModelCli.openPackage(dir);
    ModelConfig c = p.config();
    if (split < 1 || split > c.numLayers()) {
      throw new IllegalArgumentException("--split must be in 1.." + c.numLayers());
    }
    double startMb = ProcMemory.mb("VmRSS");
    long t0 = System.nanoTime();
    try (OnnxEngine e = p.openEngine(engine.options());
        KvCache kv = e.newCache(1, split)) {
      e.warmUp(true, 1, split, false);
      double loadedMb = ProcMemory.mb("VmRSS");
      int[] prompt = new int[promptTokens];
      for (int i = 0; i < promptTokens; i++) {
        prompt[i] = (i * 31 + 7) % c.vocabSize();
      }
      float[] h = e.runLayers(1, split, e.embed(prompt), promptTokens, kv);
      for (int i = 0; i < decode; i++) {
        int next = Math.floorMod(Float.floatToIntBits(h[h.length - 1]) + i, c.vocabSize());
        h = e.runLayers(1, split, e.embed(new int[] {next}), 1, kv);
      }
      Runtime rt = Runtime.getRuntime();
      System.out.printf(
          Locale.ROOT,
          "{\"weights\":\"%s\",\"split\":%d,\"prompt_tokens\":%d,\"decode\":%d,"
              + "\"prefill_chunk\":%d,\"arena\":%b,\"ue_part_bytes\":%d,\"kv_bytes\":%d,"
              + "\"rss_start_mb\":%.1f,\"rss_loaded_mb\":%.1f,\"rss_mb\":%.1f,\"peak_rss_mb\":%.1f,"
              + "\"heap_used_mb\":%.1f,\"seconds\":%.2f}%n",
          p.manifest().layerWeightFormat(split),
          split,
          promptTokens,
          decode,
          engine.prefillChunk,
          engine.arena,
          BenchCommand.ueBytes(p.manifest(), split),
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
}
