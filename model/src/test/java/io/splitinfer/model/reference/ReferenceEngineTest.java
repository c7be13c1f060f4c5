package io.splitinfer.model.reference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.model.TestModels;
import io.splitinfer.model.checkpoint.Checkpoint;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.engine.RopeScaling;
import io.splitinfer.model.engine.SplitRunner;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReferenceEngineTest {
  @TempDir Path dir;

  /**
   * d = 2, one head of size 2 (so RoPE has one frequency, inv_freq = 1), vocab 3, identity
   * projections, MLP gate picks x0 and up picks x1, down copies to both. Values worked out by hand.
   */
  @Test
  void matchesHandComputedTwoTokenCase() {
    double eps = 1e-6;
    ModelConfig c =
        new ModelConfig(1, 2, 1, 1, 1, 2, 3, 16, eps, 10000, true, -1, -1, RopeScaling.NONE);
    float[] emb = {1, 0, 0, 1, 1, 1};
    float[] id = {1, 0, 0, 1};
    var layer =
        new Checkpoint.LayerWeights(
            new float[] {1, 1},
            id,
            id,
            id,
            id,
            new float[] {1, 1},
            new float[] {1, 0},
            new float[] {0, 1},
            new float[] {1, 1});
    try (ReferenceEngine e = new ReferenceEngine(c, emb, emb, new float[] {1, 1}, List.of(layer));
        SplitRunner r = new SplitRunner(e, 1)) {
      float[] logits = r.forward(new int[] {0, 1});
      // token 0 at position 0: x = [1,0]; h = x / sqrt(0.5 + eps) = [s, 0] with s ~ sqrt 2.
      double s = 1 / Math.sqrt(0.5 + eps);
      // attention over itself: output v = [s, 0]; residual x = [1 + s, 0].
      double x0 = 1 + s;
      // post-norm: [x0, 0] / sqrt(x0^2/2 + eps) -> [n, 0]; gate = n, up = 0 -> MLP adds 0.
      double n0 = x0 / Math.sqrt(x0 * x0 / 2 + eps);
      double silu = n0 / (1 + Math.exp(-n0));
      double mlp0 = silu * 0; // up = 0
      double y0 = x0 + mlp0;
      // final norm: [y0, 0] -> [sqrt2-ish, 0]; logits = E h = [h0, 0, h0]
      double f0 = y0 / Math.sqrt(y0 * y0 / 2 + eps);
      assertEquals(f0, logits[0], 1e-5);
      assertEquals(0, logits[1], 1e-6);
      assertEquals(f0, logits[2], 1e-5);

      // token 1 at position 1: h = [0, s]; q = k = RoPE(1 rad) of [0, s] = [-s sin1, s cos1].
      // keys: k0 = [s, 0] (position 0, unrotated), k1 = [-s sin1, s cos1]
      double q0 = -s * Math.sin(1);
      double q1 = s * Math.cos(1);
      double sc0 = (q0 * s) / Math.sqrt(2);
      double sc1 = (q0 * q0 + q1 * q1) / Math.sqrt(2);
      double p0 = 1 / (1 + Math.exp(sc1 - sc0));
      double p1 = 1 - p0;
      // values are unrotated: v0 = [s, 0], v1 = [0, s]
      double a0 = p0 * s;
      double a1 = p1 * s;
      double r0 = 0 + a0;
      double r1 = 1 + a1;
      double ms = (r0 * r0 + r1 * r1) / 2;
      double n0b = r0 / Math.sqrt(ms + eps);
      double n1b = r1 / Math.sqrt(ms + eps);
      double m = n0b / (1 + Math.exp(-n0b)) * n1b;
      double y0b = r0 + m;
      double y1b = r1 + m;
      double fm = Math.sqrt((y0b * y0b + y1b * y1b) / 2 + eps);
      double h0 = y0b / fm;
      double h1 = y1b / fm;
      assertEquals(h0, logits[3], 1e-5);
      assertEquals(h1, logits[4], 1e-5);
      assertEquals(h0 + h1, logits[5], 1e-5);
    }
  }

  @Test
  void kvCacheEqualsRecomputeAndSplitsAgree() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), 4, false, DType.F32, 11);
    try (ReferenceEngine e = ReferenceEngine.load(ck)) {
      int[] prompt = {5, 17, 42, 3, 88};
      int[] cached = SplitRunner.greedy(e, 0, prompt, 32);
      int[] recomputed = SplitRunner.greedyRecompute(e, prompt, 32);
      assertArrayEquals(recomputed, cached);
      for (int p = 0; p <= 4; p++) {
        assertArrayEquals(cached, SplitRunner.greedy(e, p, prompt, 32), "split " + p);
      }
      // prefill in one pass == token by token
      float[] whole;
      try (SplitRunner r = new SplitRunner(e, 2)) {
        whole = r.forward(prompt);
      }
      try (SplitRunner r = new SplitRunner(e, 2)) {
        int v = e.config().vocabSize();
        for (int t = 0; t < prompt.length; t++) {
          float[] one = r.forward(new int[] {prompt[t]});
          for (int i = 0; i < v; i++) {
            assertEquals(whole[t * v + i], one[i], 1e-5f);
          }
        }
      }
    }
  }

  @Test
  void kvExportImportRoundTripsAndSwitchesSplit() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), 4, true, DType.F16, 3);
    try (ReferenceEngine e = ReferenceEngine.load(ck)) {
      ModelConfig c = e.config();
      int[] ids = new Random(1).ints(12, 0, c.vocabSize()).toArray();
      int[] prefix = java.util.Arrays.copyOf(ids, 8);
      // monolithic reference for the last 4 tokens
      float[] expected;
      try (SplitRunner r = new SplitRunner(e, 0)) {
        r.forward(prefix);
        expected = r.forward(java.util.Arrays.copyOfRange(ids, 8, 12));
      }
      // UE runs layers 1..1, edge 2..4 for the prefix; then the split moves to 3: the UE takes
      // layers 2..3 from the edge's exported KV.
      try (KvCache ue = e.newCache(1, 1);
          KvCache edge = e.newCache(2, 4)) {
        float[] h = e.runLayers(1, 1, e.embed(prefix), 8, ue);
        e.runLayers(2, 4, h, 8, edge);
        ue.setLayerRange(1, 3);
        assertThrows(
            IllegalStateException.class, () -> e.runLayers(1, 3, e.embed(new int[] {1}), 1, ue));
        for (int l = 2; l <= 3; l++) {
          float[] k = edge.exportKeys(l, 0, 8);
          float[] v = edge.exportValues(l, 0, 8);
          assertEquals(c.numKvHeads() * 8 * c.headDim(), k.length);
          ue.importLayer(l, 0, 8, k, v);
          assertArrayEquals(k, ue.exportKeys(l, 0, 8));
          assertArrayEquals(v, ue.exportValues(l, 0, 8));
        }
        edge.setLayerRange(4, 4);
        assertEquals(8, ue.length());
        assertTrue(ue.bytes() > 0);
        int[] tail = java.util.Arrays.copyOfRange(ids, 8, 12);
        float[] h2 = e.runLayers(1, 3, e.embed(tail), 4, ue);
        h2 = e.runLayers(4, 4, h2, 4, edge);
        float[] got = e.head(h2, 4);
        assertEquals(0f, TestModels.maxAbsDiff(expected, got), 1e-5f);
        // truncate and rerun gives the same again
        ue.truncate(8);
        edge.truncate(8);
        float[] again =
            e.head(e.runLayers(4, 4, e.runLayers(1, 3, e.embed(tail), 4, ue), 4, edge), 4);
        assertArrayEquals(got, again);
      }
    }
  }
}
