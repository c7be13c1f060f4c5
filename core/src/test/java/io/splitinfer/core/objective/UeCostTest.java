package io.splitinfer.core.objective;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class UeCostTest {
  @Test
  void matchesEquationTwo() {
    UeCost c = new UeCost(20, 4096, 32);
    double d = 4096;
    assertEquals(12.0 * 20 * d * d, c.flops(1), 1e-3);
    assertEquals(12.0 * 20 * d * d + 4 * 12.0 * d * d * d, c.flops(5), 1e-3);
  }

  @Test
  void zeroSplitCostsNothingAndCostGrowsWithSplit() {
    UeCost c = new UeCost(64, 256, 8);
    assertEquals(0.0, c.flops(0));
    for (int p = 1; p <= 8; p++) {
      assertTrue(c.flops(p) > c.flops(p - 1));
    }
    assertEquals(0.0, c.normalized(0));
    assertEquals(1.0, c.normalized(8), 1e-12);
  }

  @Test
  void rejectsOutOfRange() {
    UeCost c = new UeCost(64, 256, 8);
    assertThrows(IllegalArgumentException.class, () -> c.flops(-1));
    assertThrows(IllegalArgumentException.class, () -> c.flops(9));
    assertThrows(IllegalArgumentException.class, () -> new UeCost(0, 256, 8));
  }
}
