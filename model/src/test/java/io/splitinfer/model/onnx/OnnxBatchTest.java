package io.splitinfer.model.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.model.TestModels;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.engine.InferenceEngine.BatchItem;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.Logits;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.engine.SplitRunner;
import io.splitinfer.model.pkg.ModelPackage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Batched decode in the ONNX engine ({@link OnnxEngine#runLayersBatch}, {@link OnnxBatch}): 16
 * sessions at mixed splits (0..L, so the edge runs 0 to L layers of each) and mixed prompt lengths
 * (1..~300, so their KV buffers have different capacities and the batch pads and masks them) decode
 * together, one batched call per layer and one batched head call per step. Every session's edge
 * output matches the same step run alone on a twin cache, and its greedy tokens equal {@link
 * SplitRunner#greedy} of that session alone.
 */
class OnnxBatchTest {
  private static final int LAYERS = 6;
  private static final int SESSIONS = 16;
  private static final int STEPS = 12;

  @TempDir Path dir;

  private static final class Ue {
    int split;
    int[] prompt;
    KvCache ue;
    KvCache batched;
    KvCache alone;
    int next;
    final List<Integer> tokens = new ArrayList<>();
  }

  @Test
  void sixteenSessionsAtMixedSplitsAndLengthsDecodeAsIfAlone() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), LAYERS, false, DType.F32, 31);
    Path out = dir.resolve("pkg");
    new OnnxConverter(OnnxConverter.Options.of(DType.F32).withModelId("tiny")).convert(ck, out);
    ModelPackage pkg = ModelPackage.open(out);
    Random rnd = new Random(16);
    try (OnnxEngine e = pkg.openEngine(OnnxOptions.defaults().withThreads(1, 1))) {
      ModelConfig c = e.config();
      int v = c.vocabSize();
      int d = c.hiddenSize();
      List<Ue> ues = new ArrayList<>();
      for (int i = 0; i < SESSIONS; i++) {
        Ue u = new Ue();
        u.split = i % (LAYERS + 1);
        u.prompt = rnd.ints(1 + rnd.nextInt(300), 0, v).toArray();
        u.ue = e.newCache(1, u.split);
        u.batched = e.newCache(u.split + 1, LAYERS);
        u.alone = e.newCache(u.split + 1, LAYERS);
        float[] x = e.runLayers(1, u.split, e.embed(u.prompt), u.prompt.length, u.ue);
        float[] y = e.runLayers(u.split + 1, LAYERS, x, u.prompt.length, u.batched);
        e.runLayers(u.split + 1, LAYERS, x, u.prompt.length, u.alone);
        u.next = Logits.argmax(e.head(y, u.prompt.length), (u.prompt.length - 1) * v, v);
        ues.add(u);
      }
      int exact = 0;
      float worst = 0;
      for (int step = 0; step < STEPS; step++) {
        List<BatchItem> items = new ArrayList<>();
        List<float[]> alone = new ArrayList<>();
        // from step 4 on, every third session sits a step out: the batch's members change
        List<Ue> active = new ArrayList<>();
        for (int i = 0; i < SESSIONS; i++) {
          Ue u = ues.get(i);
          if (step >= 4 && (i + step) % 3 == 0 && u.tokens.size() + 1 < STEPS) {
            continue;
          }
          u.tokens.add(u.next);
          float[] x = e.runLayers(1, u.split, e.embed(new int[] {u.next}), 1, u.ue);
          items.add(new BatchItem(u.split + 1, LAYERS, x, u.batched));
          alone.add(e.runLayers(u.split + 1, LAYERS, x, 1, u.alone));
          active.add(u);
        }
        List<float[]> ys = e.runLayersBatch(items);
        float[] rows = new float[ys.size() * d];
        for (int r = 0; r < ys.size(); r++) {
          float diff = TestModels.maxAbsDiff(alone.get(r), ys.get(r));
          worst = Math.max(worst, diff);
          exact += diff == 0f ? 1 : 0;
          System.arraycopy(ys.get(r), 0, rows, r * d, d);
        }
        float[] logits = e.head(rows, ys.size());
        for (int r = 0; r < ys.size(); r++) {
          Ue u = active.get(r);
          u.next = Logits.argmax(logits, r * v, v);
          assertEquals(
              Logits.argmax(e.head(alone.get(r), 1), 0, v),
              u.next,
              "split " + u.split + ", step " + step + ": batched head row != alone");
          assertEquals(u.alone.length(), u.batched.length());
        }
      }
      System.out.printf("batched vs alone: %d rows bit-exact, worst |diff| %.3g%n", exact, worst);
      assertTrue(worst <= 1e-5f, "batched hidden differs from alone by " + worst);
      for (Ue u : ues) {
        int[] got = u.tokens.stream().mapToInt(Integer::intValue).toArray();
        assertArrayEquals(
            SplitRunner.greedy(e, u.split, u.prompt, got.length),
            got,
            "split " + u.split + ", prompt " + u.prompt.length);
        u.ue.close();
        u.batched.close();
        u.alone.close();
      }
    }
  }

  @Test
  void aCacheTwiceOrAForeignCacheIsRefused() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), 2, false, DType.F32, 3);
    Path out = dir.resolve("pkg");
    new OnnxConverter(OnnxConverter.Options.of(DType.F32).withModelId("tiny")).convert(ck, out);
    try (OnnxEngine e = ModelPackage.open(out).openEngine(OnnxOptions.defaults());
        KvCache kv = e.newCache(1, 2)) {
      float[] x = new float[e.config().hiddenSize()];
      assertThrows(
          IllegalArgumentException.class,
          () -> e.runLayersBatch(List.of(new BatchItem(1, 2, x, kv), new BatchItem(1, 2, x, kv))));
      assertEquals(0, kv.length());
    }
  }
}
