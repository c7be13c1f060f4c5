package io.splitinfer.controller.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class AdamTest {
  @Test
  void firstStepMovesEachParameterByLearningRateAgainstItsGradientSign() {
    // bias-corrected m̂ = g, v̂ = g², so the first step is −lr·g/(|g|+ε)
    Adam adam = new Adam(3, 0.1);
    double[] p = {1.0, 2.0, -3.0};
    adam.step(p, new double[] {0.5, -2.0, 1e-3});
    assertEquals(0.9, p[0], 1e-6);
    assertEquals(2.1, p[1], 1e-6);
    assertEquals(-3.1, p[2], 1e-4);
  }

  @Test
  void secondStepMatchesHandComputation() {
    Adam adam = new Adam(1, 0.01, 0.9, 0.999, 1e-8);
    double[] p = {0.0};
    adam.step(p, new double[] {1.0});
    adam.step(p, new double[] {3.0});
    double m = 0.9 * 0.1 + 0.1 * 3.0; // 0.39
    double v = 0.999 * 0.001 + 0.001 * 9.0; // 0.009999
    double mHat = m / (1 - 0.81);
    double vHat = v / (1 - 0.999 * 0.999);
    double expected = -0.01 / (1 + 1e-8) - 0.01 * mHat / (Math.sqrt(vHat) + 1e-8);
    assertEquals(expected, p[0], 1e-12);
  }

  @Test
  void minimizesAQuadratic() {
    Adam adam = new Adam(2, 0.05);
    double[] p = {3, -2};
    for (int i = 0; i < 2000; i++) {
      adam.step(p, new double[] {2 * (p[0] - 1), 2 * (p[1] + 0.5)});
    }
    assertEquals(1.0, p[0], 1e-3);
    assertEquals(-0.5, p[1], 1e-3);
  }

  @Test
  void clipGradNormScalesJointly() {
    double[] a = {3, 0};
    double[] b = {0, 4};
    double norm = Adam.clipGradNorm(1.0, a, b);
    assertEquals(5.0, norm, 1e-12);
    assertEquals(0.6, a[0], 1e-6);
    assertEquals(0.8, b[1], 1e-6);
    double[] c = {0.1};
    Adam.clipGradNorm(1.0, c);
    assertEquals(0.1, c[0]);
  }
}
