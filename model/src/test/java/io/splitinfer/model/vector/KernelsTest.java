package io.splitinfer.model.vector;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

class KernelsTest {
  @Test
  void expIsWithinTwoUlpOfMathExpAndEveryLaneEqualsTheScalarPath() {
    Random r = new Random(1);
    int lanes = Kernels.S.length();
    float[] x = new float[lanes];
    float[] v = new float[lanes];
    double worst = 0;
    for (int k = 0; k < 20_000; k++) {
      for (int i = 0; i < lanes; i++) {
        x[i] = (float) (r.nextDouble() * 170 - 85);
      }
      Kernels.exp(FloatVector.fromArray(Kernels.S, x, 0)).intoArray(v, 0);
      for (int i = 0; i < lanes; i++) {
        float s = Kernels.exp(x[i]);
        assertEquals(Float.floatToRawIntBits(s), Float.floatToRawIntBits(v[i]), "x = " + x[i]);
        float m = (float) Math.exp(x[i]);
        worst = Math.max(worst, Math.abs(s - m) / Math.ulp(m));
      }
    }
    assertTrue(worst <= 2, "worst error " + worst + " ulp");
    assertEquals(1f, Kernels.exp(0f));
    assertTrue(Kernels.exp(-1000f) > 0 && Kernels.exp(-1000f) < 1e-37f, "clamped below");
    assertTrue(Float.isFinite(Kernels.exp(1000f)), "clamped above");
  }

  /**
   * The packed product gives, for any token count, row count (whole blocks and leftover rows) and
   * width (pairs of vectors, a last vector, a scalar tail), the bits of one plain {@link
   * Kernels#dot} per row and token; and a packed row reads back as the plain row.
   */
  @Test
  void packedRowsOfAnyTokenCountEqualSingleTokenDots() {
    Random r = new Random(2);
    for (int in : new int[] {3, 8, 13, 21, 32, 40, 256}) {
      for (int out : new int[] {1, 4, 7, 9}) {
        float[] w = new float[out * in];
        for (int i = 0; i < w.length; i++) {
          w[i] = (float) r.nextGaussian();
        }
        PackedMatrix m = PackedMatrix.pack(w, out, in);
        for (int o = 0; o < out; o++) {
          float[] row = new float[in + 2];
          m.copyRow(o, row, 1);
          assertArrayEquals(
              java.util.Arrays.copyOfRange(w, o * in, (o + 1) * in),
              java.util.Arrays.copyOfRange(row, 1, in + 1),
              "row " + o + " of " + out + " x " + in);
        }
        for (int tokens = 1; tokens <= 6; tokens++) {
          float[] x = new float[tokens * in];
          for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
          }
          float[] y = new float[tokens * out];
          // two row ranges, as the row pool splits them (the first ends on a block boundary)
          int cut = Math.min(out, PackedMatrix.BLOCK);
          Kernels.linear(x, tokens, m, y, 0, cut);
          Kernels.linear(x, tokens, m, y, cut, out);
          for (int t = 0; t < tokens; t++) {
            for (int o = 0; o < out; o++) {
              float single = Kernels.dot(x, t * in, w, o * in, in);
              assertEquals(
                  Float.floatToRawIntBits(single),
                  Float.floatToRawIntBits(y[t * out + o]),
                  out + " x " + in + ", " + tokens + " tokens, t " + t + ", row " + o);
              double exact = 0;
              for (int i = 0; i < in; i++) {
                exact += (double) x[t * in + i] * w[o * in + i];
              }
              assertEquals(exact, single, 1e-4 * Math.sqrt(in));
            }
          }
        }
      }
    }
    assertThrows(
        IllegalArgumentException.class,
        () ->
            Kernels.linear(
                new float[8], 1, PackedMatrix.pack(new float[64], 8, 8), new float[8], 2, 8),
        "a range that starts inside a block");
    assertThrows(IllegalArgumentException.class, () -> PackedMatrix.pack(new float[10], 3, 4));
  }
}
