package io.splitinfer.model.privacy;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class WireConditionTest {
  static float[] values(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (3 * r.nextGaussian());
    }
    return v;
  }

  static double mse(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (a[i] - b[i]) * (double) (a[i] - b[i]);
    }
    return s / a.length;
  }

  @Test
  void conditionsImpairAsSpecifiedAndAreSeeded() {
    float[] h = values(64 * 256, 1);
    float[] before = h.clone();
    assertArrayEquals(h, WireCondition.clean().observe(h, 64, 256, 5));
    float[] ch = WireCondition.channel(2).observe(h, 64, 256, 5);
    assertArrayEquals(before, h, "the input is not modified");
    assertEquals(4.0, mse(ch, h), 0.1); // AWGN σ = 2 through ChannelModel
    assertArrayEquals(ch, WireCondition.channel(2).observe(h, 64, 256, 5)); // same seed
    assertNotEquals(mse(ch, WireCondition.channel(2).observe(h, 64, 256, 6)), 0.0);
    assertEquals(0.25, mse(WireCondition.defence(0.5).observe(h, 64, 256, 5), h), 0.01);
    float[] q = WireCondition.int8Wire().observe(h, 64, 256, 5);
    float maxAbs = 0;
    for (float v : h) {
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    float step = maxAbs / 127f;
    for (int i = 0; i < h.length; i++) {
      assertTrue(Math.abs(q[i] - h[i]) <= step / 2 + 1e-6, "int8 error at " + i);
    }
    assertThrows(IllegalArgumentException.class, () -> new WireCondition("x", -1, 0, false));
  }

  @Test
  void wilsonIntervalMatchesKnownValues() {
    Proportion half = new Proportion(5, 10);
    assertEquals(0.2366, half.lower(), 1e-4);
    assertEquals(0.7634, half.upper(), 1e-4);
    Proportion none = new Proportion(0, 10);
    assertEquals(0.0, none.lower(), 1e-12);
    assertEquals(0.2775, none.upper(), 1e-4);
    assertEquals(1.0, new Proportion(10, 10).upper(), 1e-12);
    assertThrows(IllegalArgumentException.class, () -> new Proportion(3, 2));
  }

  @Test
  void topKIsOrderedAndMergeInterleaves() {
    assertArrayEquals(new int[] {3, 1, 0}, TopK.of(new float[] {1, 5, -2, 9}, 3));
    assertArrayEquals(
        new int[] {7, 3, 1, 4}, PrivacyAttack.merge(new int[] {7, 1}, new int[] {3, 7, 4}));
  }
}
