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

  @Test
  void aCheaperWeightFormatPaysTheMeasuredRatioOfTheSameFlops() {
    UeCost f32 = new UeCost(64, 2048, 22);
    UeCost int4 = f32.withWeightFormat("int4");
    assertEquals("int4-g32-sym-a4", int4.weightFormat());
    assertEquals(f32.flops(11), int4.flops(11)); // eq. 2 itself does not change
    assertEquals(347.66 / 2668.73, int4.formatRatio(), 1e-12); // TinyLlama-shape bench
    assertEquals(f32.normalized(11) * 347.66 / 2668.73, int4.normalized(11), 1e-12);
    assertEquals(1.0, f32.normalized(22), 1e-12);
    assertTrue(int4.normalized(22) < 0.2);
    // the default model's shape takes its own row
    assertEquals(35.88 / 64.92, new UeCost(64, 256, 12, "int4").formatRatio(), 1e-12);
    assertEquals(45.03 / 64.92, new UeCost(64, 256, 12, "int8-g64-asym-a0").formatRatio(), 1e-12);
    assertEquals(1.0, new UeCost(64, 256, 12, "").formatRatio());
    // at every split int4 < int8 < f16 < f32
    for (int p = 1; p <= 12; p++) {
      double a = new UeCost(64, 256, 12, "int4").normalized(p);
      double b = new UeCost(64, 256, 12, "int8").normalized(p);
      double c = new UeCost(64, 256, 12, "f16").normalized(p);
      double d = new UeCost(64, 256, 12, "f32").normalized(p);
      assertTrue(a < b && b < c && c < d, "p = " + p);
    }
  }

  @Test
  void formatNamesAreCanonicalAndUnknownOnesRefused() {
    assertEquals("f32", WeightFormatCost.canonical(null));
    assertEquals("f32", WeightFormatCost.canonical(" "));
    assertEquals("f16", WeightFormatCost.canonical("F16"));
    assertEquals("int8-g32-sym-a4", WeightFormatCost.canonical("int8"));
    assertEquals("int4-g64-asym-a4", WeightFormatCost.canonical("int4-g64-asym"));
    assertEquals("int4-g32-sym-a0", WeightFormatCost.canonical("int4-a0"));
    assertEquals("int4", WeightFormatCost.kind("int4-g128-asym-a0"));
    for (String bad : new String[] {"int3", "bf16", "int4-g24", "int4-g8", "f32-g32", "q4_0"}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> WeightFormatCost.canonical(bad));
      assertTrue(e.getMessage().contains(bad), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> new UeCost(64, 256, 8, "int5"));
  }
}
