package io.splitinfer.controller.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MlpTest {
  /** loss = Σ_k c_k·out_k for fixed c; compare analytic ∂loss/∂θ and ∂loss/∂x with central FD. */
  @Test
  void gradientsMatchFiniteDifferences() {
    SplittableRandom rng = new SplittableRandom(7);
    Mlp m = new Mlp(3, 5, 4, 2).initOrthogonal(rng, Math.sqrt(2), 1.0);
    for (int i = 0; i < m.params().length; i++) {
      m.params()[i] += 0.1 * Mlp.gaussian(rng); // non-zero biases too
    }
    double[] x = {0.3, -0.7, 0.9};
    double[] c = {1.3, -0.4};
    m.zeroGrad();
    double[] dx = m.backward(m.forward(x), c);
    double h = 1e-6;
    for (int i = 0; i < m.params().length; i++) {
      double saved = m.params()[i];
      m.params()[i] = saved + h;
      double up = dot(c, m.predict(x));
      m.params()[i] = saved - h;
      double down = dot(c, m.predict(x));
      m.params()[i] = saved;
      assertEquals((up - down) / (2 * h), m.grad()[i], 1e-7, "param " + i);
    }
    for (int i = 0; i < x.length; i++) {
      double[] xp = x.clone();
      double[] xm = x.clone();
      xp[i] += h;
      xm[i] -= h;
      assertEquals((dot(c, m.predict(xp)) - dot(c, m.predict(xm))) / (2 * h), dx[i], 1e-7);
    }
  }

  @Test
  void orthogonalInitHasOrthonormalRows() {
    double[] w = Mlp.orthogonal(4, 6, new SplittableRandom(1));
    for (int a = 0; a < 4; a++) {
      for (int b = 0; b < 4; b++) {
        double d = 0;
        for (int i = 0; i < 6; i++) {
          d += w[a * 6 + i] * w[b * 6 + i];
        }
        assertEquals(a == b ? 1.0 : 0.0, d, 1e-12);
      }
    }
  }

  @Test
  void copyIsIndependent() {
    Mlp m = new Mlp(2, 3, 1).initOrthogonal(new SplittableRandom(3), 1, 1);
    Mlp c = m.copy();
    assertArrayEquals(m.params(), c.params());
    c.params()[0] += 1;
    assertEquals(m.params()[0] + 1, c.params()[0]);
  }

  private static double dot(double[] a, double[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }
}
