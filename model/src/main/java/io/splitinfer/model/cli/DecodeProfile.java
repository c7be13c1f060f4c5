package io.splitinfer.model.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.Logits;
import io.splitinfer.model.onnx.OnnxEngine;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.pkg.ModelPackage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code model bench --profile DIR}: where one decode step's time goes, from ONNX Runtime's own
 * profiler. The prompt runs on an engine without profiling; the decode steps run on a second,
 * profiled engine over the same KV caches (both are ONNX engines of one package), so the traces
 * hold decode steps only. Printed per op type: nodes and kernel µs per token; then the time per
 * token inside {@code session.run} (kernels + ONNX Runtime's own per-node work) and outside it
 * (JNI, tensor creation, copies into and out of Java arrays). The profiler adds its own cost per
 * node, so the absolute numbers are higher than without it; the shares are what to read.
 */
final class DecodeProfile {
  private DecodeProfile() {}

  static void run(
      ModelPackage pkg, OnnxOptions options, int split, int context, int steps, Path dir)
      throws IOException {
    Files.createDirectories(dir);
    int layers = pkg.config().numLayers();
    int vocab = pkg.config().vocabSize();
    long wallNanos = 0;
    List<Path> traces;
    try (OnnxEngine plain = pkg.openEngine(options.withPreload(true));
        OnnxEngine profiled =
            pkg.openEngine(options.withPreload(true).withProfiling(dir.resolve("ort").toString()));
        KvCache ue = plain.newCache(1, split);
        KvCache edge = plain.newCache(split + 1, layers)) {
      for (OnnxEngine e : List.of(plain, profiled)) {
        e.fuseLayers(1, split);
        e.fuseLayers(split + 1, layers);
      }
      int[] prompt = new int[context];
      for (int i = 0; i < context; i++) {
        prompt[i] = (i * 31 + 7) % vocab;
      }
      float[] logits = step(plain, prompt, split, ue, edge);
      int next = Logits.argmax(logits, (context - 1) * vocab, vocab);
      for (int i = 0; i < steps; i++) {
        long t0 = System.nanoTime();
        logits = step(profiled, new int[] {next}, split, ue, edge);
        wallNanos += System.nanoTime() - t0;
        next = Logits.argmax(logits, 0, vocab);
      }
      traces = profiled.endProfiling();
    }
    print(traces, steps, wallNanos / 1e3 / steps, split, context);
  }

  private static float[] step(OnnxEngine e, int[] ids, int split, KvCache ue, KvCache edge) {
    int layers = e.config().numLayers();
    float[] h = e.runLayers(1, split, e.embed(ids), ids.length, ue);
    return e.head(e.runLayers(split + 1, layers, h, ids.length, edge), ids.length);
  }

  private static void print(List<Path> traces, int steps, double wallUs, int split, int context)
      throws IOException {
    ObjectMapper json = new ObjectMapper();
    Map<String, double[]> byOp = new HashMap<>();
    double runUs = 0;
    int calls = 0;
    for (Path f : traces) {
      for (JsonNode ev : json.readTree(f.toFile())) {
        String cat = ev.path("cat").asText();
        String name = ev.path("name").asText();
        double dur = ev.path("dur").asDouble();
        if (cat.equals("Session") && name.equals("model_run")) {
          runUs += dur;
          calls++;
        } else if (cat.equals("Node") && name.endsWith("_kernel_time")) {
          double[] a =
              byOp.computeIfAbsent(ev.path("args").path("op_name").asText(), k -> new double[2]);
          a[0] += dur;
          a[1]++;
        }
      }
    }
    double kernels = byOp.values().stream().mapToDouble(a -> a[0]).sum();
    List<Map.Entry<String, double[]>> rows = new ArrayList<>(byOp.entrySet());
    rows.sort((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0]));
    System.out.printf(
        Locale.ROOT,
        "decode profile: split %d, context %d, %d steps, %d ONNX Runtime calls per token%n%n"
            + "| op type | nodes per token | kernel µs per token | share of kernel time |%n"
            + "|---|---|---|---|%n",
        split,
        context,
        steps,
        Math.round((double) calls / steps));
    for (Map.Entry<String, double[]> r : rows) {
      System.out.printf(
          Locale.ROOT,
          "| %s | %.0f | %.1f | %.1f %% |%n",
          r.getKey(),
          r.getValue()[1] / steps,
          r.getValue()[0] / steps,
          100 * r.getValue()[0] / kernels);
    }
    double nodes = byOp.values().stream().mapToDouble(a -> a[1]).sum() / steps;
    System.out.printf(
        Locale.ROOT,
        "%n| per token | µs |%n|---|---|%n"
            + "| kernels (%.0f nodes) | %.1f |%n"
            + "| inside session.run, outside kernels (ONNX Runtime per node and per call) | %.1f |%n"
            + "| outside session.run (JNI, tensors, Java copies, KV appends) | %.1f |%n"
            + "| wall, whole step (profiler on) | %.1f |%n",
        nodes,
        kernels / steps,
        (runUs - kernels) / steps,
        wallUs - runUs / steps,
        wallUs);
  }
}
