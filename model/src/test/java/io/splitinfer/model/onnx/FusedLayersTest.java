package io.splitinfer.model.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.splitinfer.model.TestModels;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.SplitRunner;
import io.splitinfer.model.pkg.ModelPackage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Merged ranges of layers ({@link LayerFusion}, {@link FusedRanges}) against one call per layer.
 */
class FusedLayersTest {
  private static final int LAYERS = 4;

  @TempDir Path dir;

  private ModelPackage convert(Path ck, OnnxConverter.Options o, String name) throws IOException {
    Path out = dir.resolve(name);
    new OnnxConverter(o.withModelId("tiny")).convert(ck, out);
    return ModelPackage.open(out);
  }

  private static int[] ids(int n, long seed) {
    return new Random(seed).ints(n, 0, TestModels.tiny(1, true).vocabSize()).toArray();
  }

  /** Logits of every forward call: a chunked prompt, a 3-token chunk, then 4 decode steps. */
  private static List<float[]> run(InferenceEngine e, int split, int[] prompt, int[] next) {
    List<float[]> out = new ArrayList<>();
    try (SplitRunner r = new SplitRunner(e, split)) {
      out.add(r.forward(prompt));
      out.add(r.forward(next));
      int v = e.config().vocabSize();
      int tok = next[0];
      for (int i = 0; i < 4; i++) {
        float[] logits = r.forward(new int[] {tok});
        out.add(logits);
        tok = io.splitinfer.model.engine.Logits.argmax(logits, 0, v);
      }
    }
    return out;
  }

  @Test
  void mergedRangesGiveTheSameLogitsBitForBitAtEverySplit() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), LAYERS, false, DType.F32, 31);
    ModelPackage pkg = convert(ck, OnnxConverter.Options.of(DType.F32), "f32");
    int[] prompt = ids(11, 1);
    int[] next = ids(3, 2);
    OnnxOptions base = OnnxOptions.defaults().withThreads(1, 1).withPrefillChunk(4);
    try (OnnxEngine perLayer = pkg.openEngine(base.withFuseMaxBytes(0));
        OnnxEngine merged = pkg.openEngine(base)) {
      assertFalse(perLayer.fuseLayers(1, LAYERS), "merging is off");
      for (int p = 0; p <= LAYERS; p++) {
        boolean ue = merged.fuseLayers(1, p);
        boolean edge = merged.fuseLayers(p + 1, LAYERS);
        assertEquals(p >= 2, ue, "UE range 1.." + p + " merged");
        assertEquals(LAYERS - p >= 2, edge, "edge range merged at p = " + p);
        List<float[]> a = run(perLayer, p, prompt, next);
        List<float[]> b = run(merged, p, prompt, next);
        for (int i = 0; i < a.size(); i++) {
          assertArrayEquals(a.get(i), b.get(i), 0f, "split " + p + ", call " + i);
        }
        // and the split equals the whole model token for token
        assertArrayEquals(
            SplitRunner.greedy(merged, LAYERS, prompt, 12),
            SplitRunner.greedy(merged, p, prompt, 12),
            "greedy at split " + p);
      }
    }
  }

  @Test
  void aRangeIsMergedInTheBackgroundAfterSomeRuns() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), LAYERS, true, DType.F32, 32);
    ModelPackage pkg = convert(ck, OnnxConverter.Options.of(DType.F32), "f32");
    int[] prompt = ids(6, 3);
    try (OnnxEngine e = pkg.openEngine(OnnxOptions.defaults().withThreads(1, 1))) {
      SplitRunner.greedy(e, 1, prompt, 3);
      assertFalse(e.layersMerged(2, LAYERS), "3 runs: not worth a build yet");
      int[] first = SplitRunner.greedy(e, 1, prompt, 12);
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (!e.layersMerged(2, LAYERS) && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertTrue(
          e.layersMerged(2, LAYERS),
          "range 2..4 merged after " + FusedRanges.BUILD_AFTER_RUNS + " runs");
      assertFalse(e.layersMerged(1, 1), "one layer is never merged");
      assertArrayEquals(first, SplitRunner.greedy(e, 1, prompt, 12));
    }
  }

  /**
   * A build that ends while another thread evicts its range: the evicting thread holds the
   * FusedRanges monitor (as acquire does) until the build is ready, then evicts it. With the old
   * lock order (the build took that monitor inside its entry's) the build waited for the monitor
   * while holding its entry, and the eviction waited for the entry: a deadlock, seen once in
   * verify.
   */
  @Test
  void aBuildEndingDuringAnEvictionDoesNotDeadlock() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), LAYERS, false, DType.F32, 34);
    ModelPackage pkg = convert(ck, OnnxConverter.Options.of(DType.F32), "f32");
    ai.onnxruntime.OrtEnvironment env = ai.onnxruntime.OrtEnvironment.getEnvironment();
    ai.onnxruntime.OrtSession.SessionOptions so = new ai.onnxruntime.OrtSession.SessionOptions();
    FusedRanges fr = new FusedRanges(env, so, pkg, Long.MAX_VALUE);
    org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
        java.time.Duration.ofSeconds(60),
        () -> {
          synchronized (fr) {
            for (int i = 0; i < FusedRanges.BUILD_AFTER_RUNS; i++) {
              fr.acquire(1, 2, true); // the last one schedules the build of 1..2
            }
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (fr.sessions().isEmpty() && System.nanoTime() < deadline) {
              Thread.sleep(10);
            }
            assertEquals(1, fr.sessions().size(), "1..2 built while the monitor was held");
            for (int[] r : new int[][] {{1, 3}, {1, 4}, {2, 3}, {2, 4}}) {
              for (int i = 0; i < FusedRanges.BUILD_AFTER_RUNS; i++) {
                fr.acquire(r[0], r[1], true); // the fifth range evicts 1..2
              }
            }
          }
        });
    fr.close();
    so.close();
  }

  @Test
  void evictedRangesCloseAndRebuild() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), LAYERS, false, DType.F32, 33);
    ModelPackage pkg = convert(ck, OnnxConverter.Options.of(DType.F32), "f32");
    int[] prompt = ids(5, 4);
    try (OnnxEngine perLayer = pkg.openEngine(OnnxOptions.defaults().withFuseMaxBytes(0));
        OnnxEngine e = pkg.openEngine(OnnxOptions.defaults())) {
      int[][] ranges = {{1, 2}, {1, 3}, {1, 4}, {2, 3}, {2, 4}, {3, 4}};
      for (int[] r : ranges) {
        assertTrue(e.fuseLayers(r[0], r[1]));
      }
      assertFalse(e.layersMerged(1, 2), "more than " + FusedRanges.MAX_RANGES + " ranges kept");
      assertTrue(e.layersMerged(3, 4));
      for (int p = 0; p <= LAYERS; p++) {
        assertArrayEquals(
            SplitRunner.greedy(perLayer, p, prompt, 6), SplitRunner.greedy(e, p, prompt, 6));
      }
    }
  }

  /**
   * After a truncate and a split switch, the layers of one cache can hold buffers of different
   * capacities (a long prompt grew layers 3..4 to 512 slots; layer 2, imported with 10 positions,
   * has 256): the merged range 2..4 then runs one part per call, with the same result.
   */
  @Test
  void layersOfDifferentCapacityRunOnePartPerCall() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), LAYERS, false, DType.F32, 36);
    ModelPackage pkg = convert(ck, OnnxConverter.Options.of(DType.F32), "f32");
    int[] prompt = ids(300, 6);
    int[] next = ids(2, 7);
    float[][] out = new float[2][];
    for (int run = 0; run < 2; run++) {
      OnnxOptions o = OnnxOptions.defaults().withThreads(1, 1).withPrefillChunk(64);
      try (OnnxEngine e = pkg.openEngine(run == 0 ? o.withFuseMaxBytes(0) : o)) {
        assertEquals(run == 1, e.fuseLayers(2, LAYERS));
        try (io.splitinfer.model.engine.KvCache ue = e.newCache(1, 2);
            io.splitinfer.model.engine.KvCache edge = e.newCache(3, LAYERS)) {
          float[] h = e.runLayers(1, 2, e.embed(prompt), prompt.length, ue);
          e.runLayers(3, LAYERS, h, prompt.length, edge);
          ue.truncate(10);
          edge.truncate(10);
          edge.setLayerRange(2, LAYERS);
          edge.importLayer(2, 0, 10, ue.exportKeys(2, 0, 10), ue.exportValues(2, 0, 10));
          ue.setLayerRange(1, 1);
          OnnxKvCache kv = (OnnxKvCache) edge;
          assertEquals(256, kv.capacityFor(2, 12));
          assertEquals(512, kv.capacityFor(3, 12));
          float[] x = e.runLayers(1, 1, e.embed(next), next.length, ue);
          out[run] = e.head(e.runLayers(2, LAYERS, x, next.length, edge), next.length);
        }
      }
    }
    assertArrayEquals(out[0], out[1], 0f);
  }

  @Test
  void partsWithExternalDataRunOnePartPerCall() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), 2, false, DType.F16, 34);
    ModelPackage pkg =
        convert(ck, OnnxConverter.Options.of(DType.F16).withForcedExternalData(1024), "ext");
    try (OnnxEngine e = pkg.openEngine(OnnxOptions.defaults());
        OnnxEngine perLayer = pkg.openEngine(OnnxOptions.defaults().withFuseMaxBytes(0))) {
      assertFalse(e.fuseLayers(1, 2), "external data is not merged");
      int[] prompt = ids(5, 5);
      assertArrayEquals(
          SplitRunner.greedy(perLayer, 2, prompt, 4), SplitRunner.greedy(e, 2, prompt, 4));
    }
  }

  @Test
  void mergeSharesIdenticalInitializersAndChainsTheLayers() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), 3, false, DType.F32, 35);
    ModelPackage pkg = convert(ck, OnnxConverter.Options.of(DType.F32), "f32");
    List<ModelProto> parts = new ArrayList<>();
    int initializers = 0;
    for (int l = 1; l <= 3; l++) {
      parts.add(LayerFusion.read(pkg.layerPart(l)));
      initializers += parts.get(l - 1).getGraph().getInitializerCount();
    }
    ModelProto m = LayerFusion.merge(parts, 1);
    List<String> inputs = m.getGraph().getInputList().stream().map(v -> v.getName()).toList();
    List<String> outputs = m.getGraph().getOutputList().stream().map(v -> v.getName()).toList();
    assertEquals(
        List.of(
            "hidden",
            "past_key.1",
            "past_value.1",
            "past_length",
            "positions",
            "past_key.2",
            "past_value.2",
            "past_key.3",
            "past_value.3"),
        inputs);
    assertEquals(
        List.of("hidden_out", "key.1", "value.1", "key.2", "value.2", "key.3", "value.3").stream()
            .sorted()
            .toList(),
        outputs.stream().sorted().toList());
    int shared = initializers - m.getGraph().getInitializerCount();
    // per layer after the first: inv_freq, rotate_half and the shape constants are shared
    assertTrue(shared >= 2 * 10, "shared initializers: " + shared);
    assertEquals(
        3 * parts.get(0).getGraph().getNodeCount(), m.getGraph().getNodeCount(), "every node kept");
  }
}
