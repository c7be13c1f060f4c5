package io.splitinfer.controller.nn;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A small dense multi-layer perceptron with tanh hidden layers and a linear output, with manual
 * back-propagation. All weights and biases live in one flat {@link #params()} array (layer by
 * layer: W row-major [out × in], then b [out]) and gradients accumulate into {@link #grad()} of the
 * same layout, so an optimizer ({@link Adam}) and a checkpoint see one vector.
 *
 * <p>Not thread-safe: {@link #forward} returns a fresh {@link Activations} but {@link #backward}
 * accumulates into the shared gradient.
 */
public final class Mlp {
  private final int[] sizes;
  private final int[] weightOffset;
  private final int[] biasOffset;
  private final double[] params;
  private final double[] grad;

  /** A network with the given layer sizes (input, hidden..., output), all parameters zero. */
  public Mlp(int... sizes) {
    if (sizes.length < 2) {
      throw new IllegalArgumentException("need at least input and output sizes");
    }
    this.sizes = sizes.clone();
    int layers = sizes.length - 1;
    weightOffset = new int[layers];
    biasOffset = new int[layers];
    int n = 0;
    for (int l = 0; l < layers; l++) {
      weightOffset[l] = n;
      n += sizes[l + 1] * sizes[l];
      biasOffset[l] = n;
      n += sizes[l + 1];
    }
    params = new double[n];
    grad = new double[n];
  }

  /**
   * Orthogonal initialization (as in CleanRL / Stable-Baselines3): each weight matrix is a random
   * orthogonal matrix times {@code hiddenGain} (√2 for tanh hidden layers) or {@code outputGain}
   * for the last layer; biases zero.
   */
  public Mlp initOrthogonal(SplittableRandom rng, double hiddenGain, double outputGain) {
    for (int l = 0; l < sizes.length - 1; l++) {
      int out = sizes[l + 1];
      int in = sizes[l];
      double[] w = orthogonal(out, in, rng);
      double gain = l == sizes.length - 2 ? outputGain : hiddenGain;
      for (int i = 0; i < w.length; i++) {
        params[weightOffset[l] + i] = gain * w[i];
      }
      Arrays.fill(params, biasOffset[l], biasOffset[l] + out, 0.0);
    }
    return this;
  }

  /** A random out×in matrix with orthonormal rows (out ≤ in) or columns (out > in). */
  static double[] orthogonal(int out, int in, SplittableRandom rng) {
    boolean transpose = out > in;
    int rows = transpose ? in : out;
    int cols = transpose ? out : in;
    double[][] q = new double[rows][cols];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        q[r][c] = gaussian(rng);
      }
      // modified Gram-Schmidt against earlier rows
      for (int k = 0; k < r; k++) {
        double dot = 0;
        for (int c = 0; c < cols; c++) {
          dot += q[r][c] * q[k][c];
        }
        for (int c = 0; c < cols; c++) {
          q[r][c] -= dot * q[k][c];
        }
      }
      double norm = 0;
      for (int c = 0; c < cols; c++) {
        norm += q[r][c] * q[r][c];
      }
      norm = Math.sqrt(norm);
      for (int c = 0; c < cols; c++) {
        q[r][c] /= norm;
      }
    }
    double[] w = new double[out * in];
    for (int o = 0; o < out; o++) {
      for (int i = 0; i < in; i++) {
        w[o * in + i] = transpose ? q[i][o] : q[o][i];
      }
    }
    return w;
  }

  /** A standard normal draw (Box-Muller) from a seeded source. */
  public static double gaussian(SplittableRandom rng) {
    double u1 = 1.0 - rng.nextDouble();
    double u2 = rng.nextDouble();
    return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2);
  }

  public int inputSize() {
    return sizes[0];
  }

  public int outputSize() {
    return sizes[sizes.length - 1];
  }

  public int[] sizes() {
    return sizes.clone();
  }

  /** The flat parameter vector (live, not a copy). */
  public double[] params() {
    return params;
  }

  /** The flat gradient accumulator (live, not a copy). */
  public double[] grad() {
    return grad;
  }

  public void zeroGrad() {
    Arrays.fill(grad, 0.0);
  }

  /** Output for one input. */
  public double[] predict(double[] x) {
    return forward(x).output();
  }

  /** Forward pass keeping every layer's activation for {@link #backward}. */
  public Activations forward(double[] x) {
    if (x.length != sizes[0]) {
      throw new IllegalArgumentException("input size " + x.length + " != " + sizes[0]);
    }
    int layers = sizes.length - 1;
    double[][] acts = new double[layers + 1][];
    acts[0] = x;
    for (int l = 0; l < layers; l++) {
      int in = sizes[l];
      int out = sizes[l + 1];
      double[] a = acts[l];
      double[] z = new double[out];
      int w = weightOffset[l];
      int b = biasOffset[l];
      boolean hidden = l < layers - 1;
      for (int o = 0; o < out; o++) {
        double s = params[b + o];
        int row = w + o * in;
        for (int i = 0; i < in; i++) {
          s += params[row + i] * a[i];
        }
        z[o] = hidden ? Math.tanh(s) : s;
      }
      acts[l + 1] = z;
    }
    return new Activations(acts);
  }

  /**
   * Back-propagates {@code dOutput} (∂loss/∂output) through the pass {@code f}, adding ∂loss/∂θ to
   * {@link #grad()}; returns ∂loss/∂input.
   */
  public double[] backward(Activations f, double[] dOutput) {
    int layers = sizes.length - 1;
    double[] delta = dOutput.clone();
    for (int l = layers - 1; l >= 0; l--) {
      int in = sizes[l];
      int out = sizes[l + 1];
      double[] a = f.acts[l];
      int w = weightOffset[l];
      int b = biasOffset[l];
      double[] dIn = new double[in];
      for (int o = 0; o < out; o++) {
        double d = delta[o];
        if (d == 0.0) {
          continue;
        }
        grad[b + o] += d;
        int row = w + o * in;
        for (int i = 0; i < in; i++) {
          grad[row + i] += d * a[i];
          dIn[i] += d * params[row + i];
        }
      }
      if (l > 0) {
        // through tanh: a = tanh(z), da/dz = 1 − a²
        for (int i = 0; i < in; i++) {
          dIn[i] *= 1.0 - a[i] * a[i];
        }
      }
      delta = dIn;
    }
    return delta;
  }

  /** A deep copy (parameters only; gradient zero). */
  public Mlp copy() {
    Mlp m = new Mlp(sizes);
    System.arraycopy(params, 0, m.params, 0, params.length);
    return m;
  }

  /** Copies the parameters of {@code other} (same shape) into this network. */
  public void copyFrom(Mlp other) {
    if (!Arrays.equals(sizes, other.sizes)) {
      throw new IllegalArgumentException("shape mismatch");
    }
    System.arraycopy(other.params, 0, params, 0, params.length);
  }

  /** The per-layer activations of one forward pass (index 0 is the input). */
  public static final class Activations {
    private final double[][] acts;

    Activations(double[][] acts) {
      this.acts = acts;
    }

    public double[] output() {
      return acts[acts.length - 1];
    }
  }
}
