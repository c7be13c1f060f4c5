package io.splitinfer.core.objective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ObjectiveTest {
  private final UeCost cost = new UeCost(32, 64, 10);

  @Test
  void rewardIsMinusPplPlusWeightedNormalizedCost() {
    Objective o = new Objective(cost, 3.0);
    assertEquals(-(12.0 + 3.0 * cost.normalized(4)), o.reward(12.0, 4), 1e-12);
    assertEquals(12.0 + 3.0, o.value(12.0, 10), 1e-12);
  }

  @Test
  void argminTradesPerplexityAgainstCost() {
    // PPL falls with p (later split is more robust), cost rises.
    java.util.function.IntToDoubleFunction ppl = p -> 10.0 + 8.0 / (1 + p);
    assertEquals(10, new Objective(cost, 0.0).argmin(ppl, 0, 10));
    assertEquals(0, new Objective(cost, 1000.0).argmin(ppl, 0, 10));
    int mid = new Objective(cost, 2.0).argmin(ppl, 0, 10);
    // brute force check
    double best = Double.POSITIVE_INFINITY;
    int arg = -1;
    for (int p = 0; p <= 10; p++) {
      double v = ppl.applyAsDouble(p) + 2.0 * cost.normalized(p);
      if (v < best) {
        best = v;
        arg = p;
      }
    }
    assertEquals(arg, mid);
    assertEquals(3, new Objective(cost, 0.0).argmin(p -> Math.abs(p - 3), 1, 8));
  }

  @Test
  void rejectsBadLambda() {
    assertThrows(IllegalArgumentException.class, () -> new Objective(cost, -1));
    assertThrows(IllegalArgumentException.class, () -> new Objective(cost, Double.NaN));
  }
}
