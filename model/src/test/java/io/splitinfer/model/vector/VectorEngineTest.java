package io.splitinfer.model.vector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.model.TestModels;
import io.splitinfer.model.checkpoint.Checkpoint;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.checkpoint.RandomCheckpoint;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.engine.RopeScaling;
import io.splitinfer.model.engine.SplitRunner;
import io.splitinfer.model.onnx.OnnxConverter;
import io.splitinfer.model.onnx.OnnxEngine;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.onnx.WeightFormat;
import io.splitinfer.model.pkg.DefaultModel;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.reference.ReferenceEngine;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Vector API engine against the reference engine and ONNX Runtime, and the properties the split
 * and speculative decoding rely on: bit-identical results for every split, thread count and batch
 * size.
 */
class VectorEngineTest {
  /** Sizes that are not multiples of the vector length, so every kernel's scalar tail runs. */
  private static final ModelConfig ODD =
      new ModelConfig(3, 40, 72, 4, 2, 10, 101, 256, 1e-5, 10000.0, false, 1, 2, RopeScaling.NONE);

  @TempDir Path dir;

  private static int[] ids(int n, int vocab, long seed) {
    return new Random(seed).ints(n, 0, vocab).toArray();
  }

  private static VectorEngine engine(Path ck, int threads) throws IOException {
    try (Checkpoint c = Checkpoint.open(ck)) {
      return new VectorEngine(VectorWeights.of(c), threads);
    }
  }

  @Test
  void matchesTheReferenceAndEverySplitIsBitIdentical() throws Exception {
    for (ModelConfig c : new ModelConfig[] {TestModels.tiny(4, true), ODD}) {
      Path ck = dir.resolve("ck-" + c.hiddenSize());
      new RandomCheckpoint(c, DType.F32, 5, 1).write(ck);
      int[] prompt = ids(9, c.vocabSize(), 1);
      int[] next = ids(3, c.vocabSize(), 2);
      try (ReferenceEngine ref = ReferenceEngine.load(ck);
          VectorEngine v = engine(ck, 1)) {
        float[] whole = TestModels.logits(v, 0, prompt, next);
        float diff = TestModels.maxAbsDiff(TestModels.logits(ref, 0, prompt, next), whole);
        assertTrue(diff < 1e-4f, "d " + c.hiddenSize() + ": vector vs reference " + diff);
        assertArrayEquals(ref.embed(prompt), v.embed(prompt), 0f);
        for (int p = 0; p <= c.numLayers(); p++) {
          assertArrayEquals(whole, TestModels.logits(v, p, prompt, next), 0f, "split " + p);
        }
        assertArrayEquals(
            SplitRunner.greedy(ref, 0, prompt, 24), SplitRunner.greedy(v, 2, prompt, 24));
        assertArrayEquals(
            SplitRunner.greedyRecompute(v, prompt, 24), SplitRunner.greedy(v, 1, prompt, 24));
      }
    }
  }

  @Test
  void resultsDoNotDependOnThreadsOrOnHowManyTokensACallRuns() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), 3, false, DType.F32, 7);
    ModelConfig c = TestModels.tiny(3, false);
    int d = c.hiddenSize();
    int[] prompt = ids(300, c.vocabSize(), 3); // past the cache's first 256-position step
    int[] more = ids(5, c.vocabSize(), 4);
    try (VectorEngine one = engine(ck, 1);
        VectorEngine three = engine(ck, 3)) {
      assertEquals(3, three.threads());
      assertArrayEquals(
          TestModels.logits(one, 1, prompt, more), TestModels.logits(three, 2, prompt, more), 0f);
      // the five rows in one call (a speculative round) == five single decode steps
      try (KvCache batch = one.newCache(1, 3);
          KvCache single = one.newCache(1, 3)) {
        one.runLayers(1, 3, one.embed(prompt), prompt.length, batch);
        one.runLayers(1, 3, one.embed(prompt), prompt.length, single);
        float[] rows = one.head(one.runLayers(1, 3, one.embed(more), more.length, batch), 5);
        for (int t = 0; t < more.length; t++) {
          float[] h = one.runLayers(1, 3, one.embed(new int[] {more[t]}), 1, single);
          float[] row = Arrays.copyOfRange(rows, t * c.vocabSize(), (t + 1) * c.vocabSize());
          assertArrayEquals(row, one.head(h, 1), 0f, "row " + t);
        }
        assertEquals(305, batch.length());
        assertTrue(d > 0);
      }
    }
  }

  @Test
  void concurrentSessionsOnOneEngineGetTheirOwnResults() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), 3, false, DType.F32, 19);
    try (VectorEngine v = engine(ck, 2)) {
      int[][] prompts = new int[6][];
      int[][] expected = new int[6][];
      for (int i = 0; i < prompts.length; i++) {
        prompts[i] = ids(5 + i, 97, 100 + i);
        expected[i] = SplitRunner.greedy(v, i % 4, prompts[i], 20);
      }
      java.util.concurrent.ExecutorService pool =
          java.util.concurrent.Executors.newFixedThreadPool(3);
      try {
        java.util.List<java.util.concurrent.Future<int[]>> got = new java.util.ArrayList<>();
        for (int round = 0; round < 3; round++) {
          for (int i = 0; i < prompts.length; i++) {
            int k = i;
            got.add(pool.submit(() -> SplitRunner.greedy(v, k % 4, prompts[k], 20)));
          }
        }
        for (int j = 0; j < got.size(); j++) {
          assertArrayEquals(expected[j % prompts.length], got.get(j).get(), "session " + j);
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }

  /**
   * Batched decode: 9 sessions at mixed layer ranges (some running no layer) and mixed lengths
   * (1..280 positions, past the cache's first growth) step together for 6 steps; every output is
   * bit-identical to the same step run alone on a twin cache.
   */
  @Test
  void batchedDecodeEqualsEachSessionAlone() throws Exception {
    int layers = 4;
    Path ck = TestModels.writeTiny(dir.resolve("ck"), layers, false, DType.F32, 23);
    ModelConfig c = TestModels.tiny(layers, false);
    int d = c.hiddenSize();
    Random rnd = new Random(9);
    try (VectorEngine v = engine(ck, 2)) {
      int n = 9;
      int[] from = new int[n];
      int[] to = new int[n];
      KvCache[] batched = new KvCache[n];
      KvCache[] alone = new KvCache[n];
      for (int i = 0; i < n; i++) {
        from[i] = 1 + rnd.nextInt(layers);
        to[i] = i == 0 ? from[i] - 1 : from[i] + rnd.nextInt(layers - from[i] + 1);
        batched[i] = v.newCache(from[i], Math.max(to[i], from[i] - 1));
        alone[i] = v.newCache(from[i], Math.max(to[i], from[i] - 1));
        int len = 1 + rnd.nextInt(i == 1 ? 280 : 40);
        float[] prompt = new float[len * d];
        for (int k = 0; k < prompt.length; k++) {
          prompt[k] = (float) rnd.nextGaussian();
        }
        v.runLayers(from[i], to[i], prompt, len, batched[i]);
        v.runLayers(from[i], to[i], prompt, len, alone[i]);
      }
      for (int step = 0; step < 6; step++) {
        java.util.List<InferenceEngine.BatchItem> items = new java.util.ArrayList<>();
        float[][] in = new float[n][d];
        for (int i = 0; i < n; i++) {
          for (int k = 0; k < d; k++) {
            in[i][k] = (float) rnd.nextGaussian();
          }
          items.add(new InferenceEngine.BatchItem(from[i], to[i], in[i], batched[i]));
        }
        java.util.List<float[]> out = v.runLayersBatch(items);
        for (int i = 0; i < n; i++) {
          float[] one = v.runLayers(from[i], to[i], in[i], 1, alone[i]);
          assertArrayEquals(one, out.get(i), 0f, "step " + step + ", session " + i);
          assertEquals(alone[i].length(), batched[i].length());
        }
      }
      // a batch with a bad item runs nothing
      KvCache shared = batched[2];
      java.util.List<InferenceEngine.BatchItem> bad =
          java.util.List.of(
              new InferenceEngine.BatchItem(from[2], to[2], new float[d], shared),
              new InferenceEngine.BatchItem(from[2], to[2], new float[d], shared));
      int before = shared.length();
      assertThrows(IllegalArgumentException.class, () -> v.runLayersBatch(bad));
      assertEquals(before, shared.length());
    }
  }

  @Test
  void weightsReadFromPackagesEqualTheCheckpoint() throws Exception {
    for (boolean external : new boolean[] {false, true}) {
      for (DType dtype : new DType[] {DType.F32, DType.F16}) {
        Path ck = TestModels.writeTiny(dir.resolve("ck-" + dtype), 2, false, dtype, 13);
        OnnxConverter.Options o = OnnxConverter.Options.of(dtype).withModelId("tiny");
        if (external) {
          o = o.withForcedExternalData(1024);
        }
        Path out = dir.resolve("pkg-" + dtype + "-" + external);
        new OnnxConverter(o).convert(ck, out);
        int[] prompt = ids(7, 97, 4);
        try (VectorEngine fromCk = engine(ck, 1);
            VectorEngine fromPkg = new VectorEngine(VectorWeights.of(ModelPackage.open(out)), 2)) {
          assertArrayEquals(
              TestModels.logits(fromCk, 0, prompt),
              TestModels.logits(fromPkg, 1, prompt),
              0f,
              dtype + " " + external);
        }
      }
    }
  }

  /** From a package, a layer is read on its first use: a UE at p = 2 holds two of six layers. */
  @Test
  void layersFromAPackageAreReadOnFirstUse() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), 6, false, DType.F32, 29);
    Path out = dir.resolve("pkg");
    new OnnxConverter(OnnxConverter.Options.of(DType.F32).withModelId("tiny")).convert(ck, out);
    VectorWeights w = VectorWeights.of(ModelPackage.open(out));
    assertEquals(0, w.loadedLayers());
    int[] prompt = ids(7, 97, 5);
    try (VectorEngine ue = new VectorEngine(w, 2);
        VectorEngine whole = engine(ck, 1);
        KvCache cache = ue.newCache(1, 2)) {
      float[] h = ue.runLayers(1, 2, ue.embed(prompt), prompt.length, cache);
      assertEquals(2, w.loadedLayers(), "layers 1..2 only");
      try (KvCache ref = whole.newCache(1, 2)) {
        assertArrayEquals(whole.runLayers(1, 2, whole.embed(prompt), prompt.length, ref), h, 0f);
      }
      assertThrows(IllegalArgumentException.class, () -> w.layer(7));
    }
  }

  @Test
  void theDefaultModelDecodesLikeOnnxRuntime() throws Exception {
    ModelPackage pkg = DefaultModel.forProcess().locate();
    int[] prompt = ids(64, pkg.config().vocabSize(), 11);
    try (VectorEngine v = new VectorEngine(VectorWeights.of(pkg), 2);
        OnnxEngine onnx = pkg.openEngine(OnnxOptions.defaults().withThreads(1, 1))) {
      float diff =
          TestModels.maxAbsDiff(
              TestModels.logits(onnx, 6, prompt), TestModels.logits(v, 6, prompt));
      assertTrue(diff < 1e-3f, "default model, vector vs onnx logits " + diff);
      assertArrayEquals(
          SplitRunner.greedy(onnx, 6, prompt, 32), SplitRunner.greedy(v, 6, prompt, 32));
    }
  }

  @Test
  void badCallsAreRefusedWithAReason() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), 2, false, DType.F32, 3);
    try (VectorEngine v = engine(ck, 2);
        ReferenceEngine ref = ReferenceEngine.load(ck);
        KvCache cache = v.newCache(1, 2)) {
      int d = v.config().hiddenSize();
      assertThrows(IllegalArgumentException.class, () -> v.embed(new int[] {97}));
      assertThrows(IllegalArgumentException.class, () -> v.embed(new int[] {-1}));
      assertThrows(
          IllegalArgumentException.class, () -> v.runLayers(1, 2, new float[d + 1], 1, cache));
      assertThrows(IllegalArgumentException.class, () -> v.runLayers(1, 3, new float[d], 1, cache));
      assertThrows(IllegalArgumentException.class, () -> v.head(new float[d - 1], 1));
      assertEquals(0, cache.length(), "a refused call leaves the cache as it was");
      KvCache foreign =
          new KvCache() {
            @Override
            public int firstLayer() {
              return 1;
            }

            @Override
            public int lastLayer() {
              return 2;
            }

            @Override
            public int length() {
              return 0;
            }

            @Override
            public void truncate(int n) {}

            @Override
            public float[] exportKeys(int l, int f, int t) {
              return new float[0];
            }

            @Override
            public float[] exportValues(int l, int f, int t) {
              return new float[0];
            }

            @Override
            public void setLayerRange(int f, int l) {}

            @Override
            public void importLayer(int l, int f, int t, float[] k, float[] vv) {}

            @Override
            public long bytes() {
              return 0;
            }

            @Override
            public void close() {}
          };
      IllegalArgumentException e =
          assertThrows(
              IllegalArgumentException.class, () -> v.runLayers(1, 2, new float[d], 1, foreign));
      assertTrue(e.getMessage().contains("not made by this engine"), e.getMessage());
      assertTrue(ref.config().equals(v.config()));
    }
    Path q = dir.resolve("int8");
    new OnnxConverter(OnnxConverter.Options.of(WeightFormat.parse("int8")).withModelId("tiny"))
        .convert(ck, q);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> VectorWeights.of(ModelPackage.open(q)));
    assertTrue(e.getMessage().contains("quantized"), e.getMessage());
  }
}
