package io.splitinfer.controller.nn;

/**
 * Adam (Kingma &amp; Ba 2015) over one flat parameter vector, with bias correction, as in PyTorch:
 *
 * <pre>
 *   m ← β₁m + (1−β₁)g      v ← β₂v + (1−β₂)g²
 *   θ ← θ − lr · (m / (1−β₁ᵗ)) / (√(v / (1−β₂ᵗ)) + ε)
 * </pre>
 */
public final class Adam {
  private final double beta1;
  private final double beta2;
  private final double eps;
  private final double[] m;
  private final double[] v;
  private double lr;
  private long t;

  public Adam(int size, double lr) {
    this(size, lr, 0.9, 0.999, 1e-8);
  }

  public Adam(int size, double lr, double beta1, double beta2, double eps) {
    this.m = new double[size];
    this.v = new double[size];
    this.lr = lr;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
  }

  public void setLearningRate(double lr) {
    this.lr = lr;
  }

  public double learningRate() {
    return lr;
  }

  public long steps() {
    return t;
  }

  /** One update of {@code params} by {@code grad} (same length as this optimizer). */
  public void step(double[] params, double[] grad) {
    if (params.length != m.length || grad.length != m.length) {
      throw new IllegalArgumentException("size mismatch");
    }
    t++;
    double c1 = 1.0 - Math.pow(beta1, t);
    double c2 = 1.0 - Math.pow(beta2, t);
    for (int i = 0; i < params.length; i++) {
      double g = grad[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      double mHat = m[i] / c1;
      double vHat = v[i] / c2;
      params[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
    }
  }

  /**
   * Scales the gradients so their joint L2 norm is at most {@code maxNorm} (PyTorch's
   * clip_grad_norm_); returns the norm before clipping.
   */
  public static double clipGradNorm(double maxNorm, double[]... grads) {
    double sq = 0;
    for (double[] g : grads) {
      for (double x : g) {
        sq += x * x;
      }
    }
    double norm = Math.sqrt(sq);
    if (norm > maxNorm && norm > 0) {
      double s = maxNorm / (norm + 1e-6);
      for (double[] g : grads) {
        for (int i = 0; i < g.length; i++) {
          g[i] *= s;
        }
      }
    }
    return norm;
  }
}
