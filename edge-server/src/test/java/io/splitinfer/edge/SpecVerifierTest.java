package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The verification rule of {@link SpecVerifier#pick} on a small vocabulary: greedy takes the
 * matching prefix and the edge's own token; sampling (standard speculative sampling) emits each
 * position's token with the target distribution, whatever the draft distribution q (one-hot or a
 * drawn distribution) and with top-k filtering (chi-square goodness of fit over 30,000 rounds).
 */
class SpecVerifierTest {
  static final int V = 6;

  static float[] logits(long seed, int rows) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] l = new float[rows * V];
    for (int i = 0; i < l.length; i++) {
      l[i] = (float) (2 * r.nextGaussian());
    }
    return l;
  }

  @Test
  void greedyTakesTheMatchingPrefixAndTheEdgesToken() {
    float[] l = logits(1, 4);
    Sampler greedy = new Sampler(Sampler.Params.greedy());
    int[] own = new int[4];
    for (int i = 0; i < 4; i++) {
      own[i] = io.splitinfer.model.engine.Logits.argmax(l, i * V, V);
    }
    int[] all = {own[0], own[1], own[2]};
    assertArrayEquals(own, SpecVerifier.pick(greedy, l, V, all, null));
    int[] second = {own[0], (own[1] + 1) % V, own[2]};
    assertArrayEquals(new int[] {own[0], own[1]}, SpecVerifier.pick(greedy, l, V, second, null));
    int[] first = {(own[0] + 2) % V, own[1], own[2]};
    assertArrayEquals(new int[] {own[0]}, SpecVerifier.pick(greedy, l, V, first, null));
  }

  @Test
  void samplingEmitsTheTargetDistributionWithOneHotDrafts() {
    check(new Sampler.Params(1f, 0, 0f, 5), false);
  }

  @Test
  void samplingEmitsTheTargetDistributionWithDrawnDrafts() {
    check(new Sampler.Params(0.8f, 0, 0f, 6), true);
  }

  @Test
  void samplingEmitsTheFilteredTargetDistribution() {
    check(new Sampler.Params(1f, 3, 0f, 7), true);
  }

  /**
   * 30,000 rounds of two drafts: the first emitted token fits p(row 0); given it equals the first
   * draft, the second fits p(row 1). Drafts are drawn from q (or fixed, q one-hot) per round.
   */
  private static void check(Sampler.Params params, boolean drawnQ) {
    float[] l = logits(params.seed(), 3);
    Sampler sampler = new Sampler(params);
    double[] p0 = sampler.probs(l, 0, V);
    double[] p1 = sampler.probs(l, V, V);
    SplittableRandom r = new SplittableRandom(params.seed() + 100);
    float[] q = new float[2 * V];
    for (int i = 0; i < q.length; i++) {
      q[i] = (float) (0.05 + r.nextDouble());
    }
    for (int row = 0; row < 2; row++) {
      double s = 0;
      for (int v = 0; v < V; v++) {
        s += q[row * V + v];
      }
      for (int v = 0; v < V; v++) {
        q[row * V + v] /= (float) s;
      }
    }
    int[] first = new int[V];
    int[] second = new int[V];
    int fixed0 = 1;
    for (int n = 0; n < 30_000; n++) {
      int[] draft = drawnQ ? new int[] {draw(q, 0, r), draw(q, V, r)} : new int[] {fixed0, 2};
      int[] out = SpecVerifier.pick(sampler, l, V, draft, drawnQ ? q : null);
      first[out[0]]++;
      if (out[0] == draft[0]) {
        assertTrue(out.length >= 2, "an accepted draft is followed by a token");
        second[out[1]]++;
      }
    }
    ChiSquare.assertFits(first, p0, "first token " + params);
    ChiSquare.assertFits(second, p1, "second token " + params);
  }

  private static int draw(float[] q, int off, SplittableRandom r) {
    double u = r.nextDouble();
    double acc = 0;
    for (int v = 0; v < V; v++) {
      acc += q[off + v];
      if (u < acc) {
        return v;
      }
    }
    return V - 1;
  }
}
