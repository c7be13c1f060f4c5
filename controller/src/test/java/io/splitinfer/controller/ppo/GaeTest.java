package io.splitinfer.controller.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class GaeTest {
  @Test
  void matchesHandComputedValuesAcrossAnEpisodeBoundary() {
    double g = 0.9;
    double l = 0.5;
    double[] r = {1, 2, 3, 4};
    double[] v = {0.5, 1.0, 1.5, 2.0};
    boolean[] done = {false, true, false, false};
    double lastV = 3.0;
    double[] adv = new double[4];
    double[] ret = new double[4];
    Gae.compute(r, v, done, lastV, g, l, adv, ret);
    // t=3: δ = 4 + 0.9·3 − 2 = 4.7 ; A3 = 4.7
    // t=2: δ = 3 + 0.9·2 − 1.5 = 3.3 ; A2 = 3.3 + 0.45·4.7 = 5.415
    // t=1: done → δ = 2 − 1 = 1 ; A1 = 1
    // t=0: δ = 1 + 0.9·1 − 0.5 = 1.4 ; A0 = 1.4 + 0.45·1 = 1.85
    assertEquals(4.7, adv[3], 1e-12);
    assertEquals(5.415, adv[2], 1e-12);
    assertEquals(1.0, adv[1], 1e-12);
    assertEquals(1.85, adv[0], 1e-12);
    for (int t = 0; t < 4; t++) {
      assertEquals(adv[t] + v[t], ret[t], 1e-12);
    }
  }

  @Test
  void lambdaOneGivesDiscountedReturnMinusValue() {
    double[] r = {1, 1, 1};
    double[] v = {0, 0, 0};
    double[] adv = new double[3];
    double[] ret = new double[3];
    Gae.compute(r, v, new boolean[] {false, false, true}, 99, 0.5, 1.0, adv, ret);
    assertEquals(1 + 0.5 + 0.25, ret[0], 1e-12);
    assertEquals(1.0, ret[2], 1e-12);
  }
}
