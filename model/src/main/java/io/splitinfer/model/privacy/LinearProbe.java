package io.splitinfer.model.privacy;

import java.util.Arrays;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.EigenDecomposition;
import org.apache.commons.math3.linear.RealMatrix;

/**
 * The linear-probe attacker of one layer: a Gaussian classifier with one mean per token and a
 * shared covariance (linear discriminant analysis), fitted in closed form. Its score for token v is
 * linear in the hidden state x:
 *
 * <pre>s_v(x) = m_vᵀ S⁻¹ x − ½ m_vᵀ S⁻¹ m_v + log π_v</pre>
 *
 * with m_v the mean training state of token v, π_v its frequency and S the pooled within-token
 * covariance. (A ridge regression onto one-hot targets was tried first: with 4096 classes it
 * favours frequent tokens and recovered fewer tokens at every layer.) Tokens never seen in training
 * get no mean and are never predicted.
 *
 * <p>Training streams (x, token) pairs into Σx, XᵀX and the per-token sums, so no hidden state is
 * kept. {@link #fit()} takes the eigendecomposition S = QΛQᵀ and stores C = QᵀM; for any extra
 * variance s the scores with S + sI cost one d×V product: s_v = Σ_k (Qᵀx)_k C_kv / (Λ_k + s) − ½
 * Σ_k C_kv² / (Λ_k + s) + log π_v.
 *
 * <p><b>Noise-aware.</b> An observation x + n with n ~ N(0, s²I) independent of x is Gaussian with
 * the same class means and covariance S + s²I, so the attacker who knows the noise level gets the
 * matching classifier by passing s² ({@link Fitted#scores}); no retraining.
 */
final class LinearProbe {
  private final int d;
  private final int vocab;
  private final double[] sum;
  private final double[] gram;
  private final double[] xy;
  private final long[] counts;
  private long n;

  LinearProbe(int d, int vocab) {
    this.d = d;
    this.vocab = vocab;
    this.sum = new double[d];
    this.gram = new double[d * d];
    this.xy = new double[d * vocab];
    this.counts = new long[vocab];
  }

  /** Adds {@code tokens} rows of {@code h} ([tokens, d]) labelled with {@code ids[from..]}. */
  void add(float[] h, int[] ids, int from, int tokens) {
    for (int t = 0; t < tokens; t++) {
      int base = t * d;
      int y = ids[from + t];
      counts[y]++;
      n++;
      int yb = y * d;
      for (int i = 0; i < d; i++) {
        double xi = h[base + i];
        sum[i] += xi;
        xy[yb + i] += xi;
        int gi = i * d;
        for (int j = i; j < d; j++) {
          gram[gi + j] += xi * h[base + j];
        }
      }
    }
  }

  /** Solves for the eigen-form of the classifier (see the class doc). */
  Fitted fit() {
    if (n < 2) {
      throw new IllegalStateException("a probe needs at least 2 training samples, got " + n);
    }
    // Within-token scatter: XᵀX − Σ_v (Σ_{t∈v} x_t)(Σ_{t∈v} x_t)ᵀ / n_v, upper triangle.
    double[] sw = gram.clone();
    for (int v = 0; v < vocab; v++) {
      if (counts[v] == 0) {
        continue;
      }
      double inv = 1.0 / counts[v];
      int vb = v * d;
      for (int i = 0; i < d; i++) {
        double a = xy[vb + i] * inv;
        int gi = i * d;
        for (int j = i; j < d; j++) {
          sw[gi + j] -= a * xy[vb + j];
        }
      }
    }
    double[][] a = new double[d][d];
    for (int i = 0; i < d; i++) {
      for (int j = i; j < d; j++) {
        double v = sw[i * d + j] / n;
        a[i][j] = v;
        a[j][i] = v;
      }
    }
    EigenDecomposition eig = new EigenDecomposition(new Array2DRowRealMatrix(a, false));
    RealMatrix q = eig.getV();
    double[] lam = eig.getRealEigenvalues().clone();
    double meanEig = 0;
    for (int k = 0; k < d; k++) {
      lam[k] = Math.max(0, lam[k]);
      meanEig += lam[k];
    }
    meanEig /= d;
    float[] qt = new float[d * d];
    for (int i = 0; i < d; i++) {
      for (int j = 0; j < d; j++) {
        qt[i * d + j] = (float) q.getEntry(j, i);
      }
    }
    float[] c = new float[d * vocab];
    float[] logPrior = new float[vocab];
    double[] m = new double[d];
    for (int v = 0; v < vocab; v++) {
      if (counts[v] == 0) {
        logPrior[v] = Float.NEGATIVE_INFINITY;
        continue;
      }
      logPrior[v] = (float) Math.log((double) counts[v] / n);
      for (int i = 0; i < d; i++) {
        m[i] = xy[v * d + i] / counts[v];
      }
      for (int k = 0; k < d; k++) {
        double s = 0;
        for (int i = 0; i < d; i++) {
          s += qt[k * d + i] * m[i];
        }
        c[k * vocab + v] = (float) s;
      }
    }
    float[] mu = new float[d];
    for (int i = 0; i < d; i++) {
      mu[i] = (float) (sum[i] / n);
    }
    return new Fitted(d, vocab, mu, qt, lam, meanEig, c, logPrior);
  }

  /** A fitted probe. Not thread-safe (caches the bias of the last variance asked for). */
  static final class Fitted {
    private final int d;
    private final int vocab;
    private final float[] mu;
    private final float[] qt;
    private final double[] eigenvalues;
    private final double meanEigenvalue;
    private final float[] c;
    private final float[] logPrior;
    private double biasFor = Double.NaN;
    private float[] bias;

    Fitted(
        int d,
        int vocab,
        float[] mu,
        float[] qt,
        double[] eigenvalues,
        double meanEigenvalue,
        float[] c,
        float[] logPrior) {
      this.d = d;
      this.vocab = vocab;
      this.mu = mu;
      this.qt = qt;
      this.eigenvalues = eigenvalues;
      this.meanEigenvalue = meanEigenvalue;
      this.c = c;
      this.logPrior = logPrior;
    }

    /** Mean hidden state of the training set. */
    float[] mean() {
      return mu;
    }

    /**
     * The variance added to S's diagonal: {@code relRidge}·mean eigenvalue (conditioning) plus the
     * observation noise variance per element.
     */
    double shrinkage(double relRidge, double noiseVar) {
      return relRidge * meanEigenvalue + noiseVar;
    }

    /** Scores of every token for the hidden state {@code x[off .. off+d)} into {@code out}. */
    void scores(float[] x, int off, double shrink, float[] out) {
      if (shrink != biasFor) {
        bias = new float[vocab];
        double[] b = new double[vocab];
        for (int k = 0; k < d; k++) {
          double w = 0.5 / (eigenvalues[k] + shrink);
          int ck = k * vocab;
          for (int v = 0; v < vocab; v++) {
            b[v] -= w * c[ck + v] * c[ck + v];
          }
        }
        for (int v = 0; v < vocab; v++) {
          bias[v] = (float) (b[v] + logPrior[v]);
        }
        biasFor = shrink;
      }
      float[] z = new float[d];
      for (int k = 0; k < d; k++) {
        double s = 0;
        int qk = k * d;
        for (int i = 0; i < d; i++) {
          s += qt[qk + i] * x[off + i];
        }
        z[k] = (float) (s / (eigenvalues[k] + shrink));
      }
      System.arraycopy(bias, 0, out, 0, vocab);
      for (int k = 0; k < d; k++) {
        float zk = z[k];
        int ck = k * vocab;
        for (int v = 0; v < vocab; v++) {
          out[v] += zk * c[ck + v];
        }
      }
    }

    /** Whether the probe ever saw token v. */
    boolean knows(int v) {
      return logPrior[v] != Float.NEGATIVE_INFINITY;
    }

    @Override
    public String toString() {
      return "LinearProbe.Fitted[d="
          + d
          + ", vocab="
          + vocab
          + ", eig="
          + Arrays.toString(Arrays.copyOf(eigenvalues, 3))
          + "...]";
    }
  }
}
