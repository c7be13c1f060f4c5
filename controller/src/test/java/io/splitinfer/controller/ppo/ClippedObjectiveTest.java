package io.splitinfer.controller.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ClippedObjectiveTest {
  private static final double EPS = 0.2;

  @Test
  void insideTheClipRangeItIsThePlainPolicyGradient() {
    assertEquals(-2.0 * 1.1, ClippedObjective.loss(1.1, 2.0, EPS), 1e-12);
    assertEquals(-2.0, ClippedObjective.dLossDRatio(1.1, 2.0, EPS));
    assertEquals(3.0, ClippedObjective.dLossDRatio(0.9, -3.0, EPS));
  }

  @Test
  void positiveAdvantageRatioAboveClipHasNoGradient() {
    assertEquals(-2.0 * 1.2, ClippedObjective.loss(1.5, 2.0, EPS), 1e-12);
    assertEquals(0.0, ClippedObjective.dLossDRatio(1.5, 2.0, EPS));
    assertTrue(ClippedObjective.isClipped(1.5, 2.0, EPS));
  }

  @Test
  void positiveAdvantageRatioBelowClipStillPushesUp() {
    assertEquals(-2.0 * 0.5, ClippedObjective.loss(0.5, 2.0, EPS), 1e-12);
    assertEquals(-2.0, ClippedObjective.dLossDRatio(0.5, 2.0, EPS));
    assertFalse(ClippedObjective.isClipped(0.5, 2.0, EPS));
  }

  @Test
  void negativeAdvantageRatioBelowClipHasNoGradient() {
    assertEquals(2.0 * 0.8, ClippedObjective.loss(0.5, -2.0, EPS), 1e-12);
    assertEquals(0.0, ClippedObjective.dLossDRatio(0.5, -2.0, EPS));
    assertTrue(ClippedObjective.isClipped(0.5, -2.0, EPS));
  }

  @Test
  void negativeAdvantageRatioAboveClipStillPushesDown() {
    assertEquals(2.0 * 1.5, ClippedObjective.loss(1.5, -2.0, EPS), 1e-12);
    assertEquals(2.0, ClippedObjective.dLossDRatio(1.5, -2.0, EPS));
  }
}
