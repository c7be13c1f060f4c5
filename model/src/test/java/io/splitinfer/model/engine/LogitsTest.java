package io.splitinfer.model.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The one tie rule and the log-softmax arithmetic every path shares. */
class LogitsTest {
  @Test
  void argmaxTakesTheLowestIndexOnTiesWithinTheRow() {
    float[] x = {9f, 1f, 5f, 3f, 5f, 2f};
    assertEquals(1, Logits.argmax(x, 1, 5), "row [1,5,3,5,2]: first 5 at relative index 1");
    assertEquals(0, Logits.argmax(new float[] {7f, 7f, 7f}, 0, 3));
    assertEquals(2, Logits.argmax(new float[] {-3f, -2f, -1f}, 0, 3));
  }

  @Test
  void logProbIsANormalisedLogSoftmax() {
    float[] x = {0f, 1000f, 1001f, 999f};
    double[] row = Logits.logSoftmax(x, 1, 3);
    double mass = 0;
    for (int i = 0; i < 3; i++) {
      assertEquals(row[i], Logits.logProb(x, 1, 3, i), 0.0, "same arithmetic");
      mass += Math.exp(row[i]);
    }
    assertEquals(1.0, mass, 1e-12);
    double expected = -Math.log(1 + Math.exp(-1) + Math.exp(-2));
    assertEquals(expected, Logits.logProb(x, 1, 3, 1), 1e-12, "large logits stay finite");
    assertEquals(
        Math.log(Math.exp(1) + Math.exp(2)), Logits.logSumExp(new float[] {1, 2}, 0, 2), 1e-12);
  }
}
