package io.splitinfer.model.ppl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.model.TestModels;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.onnx.OnnxConverter;
import io.splitinfer.model.onnx.OnnxEngine;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.reference.ReferenceEngine;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PerplexityTest {
  @TempDir Path dir;

  /** ids[j] = j and the fake scorer returns -target, so the NLL is the sum of scored targets. */
  @Test
  void scoresEveryTokenButTheFirstExactlyOnce() {
    for (int n : new int[] {2, 10, 256, 257, 258, 1000}) {
      int[] ids = IntStream.range(0, n).toArray();
      for (int[] ws : new int[][] {{256, 256}, {16, 16}, {16, 4}, {7, 3}, {1, 1}, {5, 5}}) {
        List<Integer> contexts = new ArrayList<>();
        Perplexity.Scorer scorer =
            window -> {
              double[] lp = new double[window.length - 1];
              for (int i = 0; i < lp.length; i++) {
                lp[i] = -window[i + 1];
              }
              contexts.add(window.length - 1);
              return lp;
            };
        Perplexity.Result r =
            Perplexity.evaluate(ids, new Perplexity.Protocol(ws[0], ws[1]), scorer);
        assertEquals(n - 1, r.scoredTokens(), "n " + n + " W/S " + ws[0] + "/" + ws[1]);
        assertEquals((double) n * (n - 1) / 2, r.totalNll(), 1e-9);
        assertTrue(contexts.stream().allMatch(c -> c <= ws[0]));
        if (ws[0] == ws[1]) {
          assertEquals((n - 1 + ws[0] - 1) / ws[0], r.windows());
        }
      }
    }
    assertThrows(IllegalArgumentException.class, () -> new Perplexity.Protocol(4, 5));
  }

  @Test
  void splitAndChunkingDoNotChangePerplexity() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), 3, true, DType.F32, 4);
    new OnnxConverter(OnnxConverter.Options.of(DType.F32)).convert(ck, dir.resolve("pkg"));
    int[] ids = new Random(5).ints(100, 0, 97).toArray();
    var protocol = new Perplexity.Protocol(32, 24);
    try (OnnxEngine e = ModelPackage.open(dir.resolve("pkg")).openEngine(OnnxOptions.defaults());
        ReferenceEngine ref = ReferenceEngine.load(ck)) {
      Perplexity.Result whole =
          Perplexity.evaluate(ids, protocol, Perplexity.engineScorer(e, e, 0, 512));
      assertEquals(99, whole.scoredTokens());
      assertTrue(whole.ppl() > 1 && Double.isFinite(whole.ppl()));
      for (int p = 0; p <= 3; p++) {
        Perplexity.Result r =
            Perplexity.evaluate(ids, protocol, Perplexity.engineScorer(e, e, p, 5));
        assertEquals(whole.ppl(), r.ppl(), whole.ppl() * 1e-5, "split " + p);
      }
      Perplexity.Result byRef =
          Perplexity.evaluate(ids, protocol, Perplexity.engineScorer(ref, ref, 0, 512));
      assertEquals(whole.ppl(), byRef.ppl(), whole.ppl() * 1e-4);
      // the mean NLL of a uniform model would be log(97); a random model is in that range
      assertTrue(whole.meanNll() > 1, "mean NLL " + whole.meanNll());
    }
  }
}
