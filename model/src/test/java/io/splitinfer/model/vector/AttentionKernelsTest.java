package io.splitinfer.model.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

class AttentionKernelsTest {
  /**
   * Attention's kernels: four consecutive rows' dot products give the bits of four plain {@link
   * Kernels#dot}s, and the weighted sum of value rows gives, for every width (four vectors at a
   * time, one, scalar tail), the bits of one fused multiply-add chain per element in order j = 0,
   * 1, ...
   */
  @Test
  void attentionKernelsKeepTheOrderOfEverySum() {
    Random r = new Random(3);
    for (int n : new int[] {3, 8, 13, 32, 40, 64}) {
      float[] x = new float[n + 1];
      float[] w = new float[4 * n + 2];
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) r.nextGaussian();
      }
      for (int i = 0; i < w.length; i++) {
        w[i] = (float) r.nextGaussian();
      }
      float[] y = new float[5];
      AttentionKernels.dotRows4(x, 1, w, 2, n, y, 1);
      for (int row = 0; row < 4; row++) {
        assertEquals(
            Float.floatToRawIntBits(Kernels.dot(x, 1, w, 2 + row * n, n)),
            Float.floatToRawIntBits(y[1 + row]),
            "n " + n + ", row " + row);
      }
    }
    for (int width : new int[] {5, 8, 32, 40, 64, 70}) {
      for (int n : new int[] {1, 7, 130}) {
        int stride = width + 3;
        float[] p = new float[n + 2];
        float[] v = new float[2 + n * stride];
        for (int i = 0; i < p.length; i++) {
          p[i] = r.nextFloat();
        }
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) r.nextGaussian();
        }
        float[] out = new float[width + 1];
        AttentionKernels.weightedRows(p, 2, n, v, 2, stride, out, 1, width);
        for (int i = 0; i < width; i++) {
          float acc = 0;
          for (int j = 0; j < n; j++) {
            acc = Math.fma(v[2 + j * stride + i], p[2 + j], acc);
          }
          assertEquals(
              Float.floatToRawIntBits(acc),
              Float.floatToRawIntBits(out[1 + i]),
              "width " + width + ", n " + n + ", element " + i);
        }
      }
    }
  }
}
