package io.splitinfer.controller.reward;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitinfer.controller.env.EnvConfig;
import io.splitinfer.controller.nn.Adam;
import io.splitinfer.controller.nn.Mlp;
import io.splitinfer.core.objective.WeightFormatCost;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The reward surrogate PPL~(p; σ, σ_h; θ_surr) of eqs. 13–14: an ensemble of K small MLPs (two tanh
 * layers) trained by MSE on measurement records.
 *
 * <ul>
 *   <li>Inputs: the environment's normalized observation ({@link EnvConfig#observe}) of (σ, σ_h,
 *       p), so the surrogate and the policy see the state the same way.
 *   <li>Target: log PPL, standardized. Perplexity spans orders of magnitude between a clean and a
 *       very noisy channel; fitting its logarithm keeps the MSE from being dominated by the
 *       noisiest records. Predictions are exp(mean of the members' log PPL); the reported MSE/MAE
 *       ({@link #crossValidate}) are in PPL units, like the paper's.
 *   <li>Uncertainty: the standard deviation across members' PPL predictions ({@link #predict});
 *       members differ by initialization and (by default) a bootstrap resample of the records.
 *   <li>Weight format: the UE weight format of the records it was fitted on ({@link #weightFormat},
 *       saved with it; f32 for surrogates saved before formats were recorded). A policy built on it
 *       is for UEs of that format only.
 * </ul>
 */
public final class SurrogateReward implements RewardSource {
  private static final ObjectMapper JSON =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  private final EnvConfig env;
  private final List<Mlp> members;
  private final double targetMean;
  private final double targetStd;
  private final String modelId;
  private int inputLength;
  private int hiddenSize;
  private String weightFormat = WeightFormatCost.DEFAULT;

  public SurrogateReward(
      EnvConfig env, List<Mlp> members, double targetMean, double targetStd, String modelId) {
    this.env = env;
    this.members = List.copyOf(members);
    this.targetMean = targetMean;
    this.targetStd = targetStd;
    this.modelId = modelId;
  }

  /** Records the UE-cost dimensions (eq. 2) of the measured model, saved with the surrogate. */
  public SurrogateReward withCostDimensions(int inputLength, int hiddenSize) {
    this.inputLength = inputLength;
    this.hiddenSize = hiddenSize;
    return this;
  }

  /** Records the UE weight format of the records it was fitted on (canonical name). */
  public SurrogateReward withWeightFormat(String format) {
    this.weightFormat = WeightFormatCost.canonical(format);
    return this;
  }

  /** The UE weight format of the records it was fitted on. */
  public String weightFormat() {
    return weightFormat;
  }

  /** d_in of the measured model (0 if unknown). */
  public int inputLength() {
    return inputLength;
  }

  /** d_mid of the measured model (0 if unknown). */
  public int hiddenSize() {
    return hiddenSize;
  }

  /** A prediction: mean PPL and the ensemble's standard deviation (0 for one member). */
  public record Prediction(double ppl, double std) {}

  @Override
  public double ppl(double sigma, double sigmaH, int split) {
    return predict(sigma, sigmaH, split).ppl();
  }

  public Prediction predict(double sigma, double sigmaH, int split) {
    double[] x = env.observe(sigma, sigmaH, split);
    double sumLog = 0;
    double[] ppl = new double[members.size()];
    for (int k = 0; k < ppl.length; k++) {
      double logPpl = members.get(k).predict(x)[0] * targetStd + targetMean;
      sumLog += logPpl;
      ppl[k] = Math.exp(logPpl);
    }
    double mean = Math.exp(sumLog / ppl.length);
    double var = 0;
    for (double p : ppl) {
      var += (p - mean) * (p - mean);
    }
    return new Prediction(mean, ppl.length > 1 ? Math.sqrt(var / (ppl.length - 1)) : 0.0);
  }

  @Override
  public String name() {
    return "surrogate";
  }

  public EnvConfig env() {
    return env;
  }

  public String modelId() {
    return modelId;
  }

  public int members() {
    return members.size();
  }

  /** Trains a surrogate on {@code records} (eq. 13). */
  public static SurrogateReward fit(
      List<MeasurementRecord> records, EnvConfig env, SurrogateConfig cfg, String modelId) {
    if (records.isEmpty()) {
      throw new IllegalArgumentException("no records to fit");
    }
    int n = records.size();
    double[][] x = new double[n][];
    double[] y = new double[n];
    double mean = 0;
    for (int i = 0; i < n; i++) {
      MeasurementRecord r = records.get(i);
      x[i] = env.observe(r.sigma(), r.sigmaH(), r.split());
      y[i] = Math.log(Math.max(r.ppl(), 1e-9));
      mean += y[i];
    }
    mean /= n;
    double var = 0;
    for (double v : y) {
      var += (v - mean) * (v - mean);
    }
    double std = Math.max(Math.sqrt(var / n), 1e-6);
    double[] z = new double[n];
    for (int i = 0; i < n; i++) {
      z[i] = (y[i] - mean) / std;
    }
    SplittableRandom rng = new SplittableRandom(cfg.seed());
    List<Mlp> members = new ArrayList<>();
    for (int k = 0; k < cfg.members(); k++) {
      SplittableRandom mrng = rng.split();
      int[] sample = new int[n];
      for (int i = 0; i < n; i++) {
        sample[i] = cfg.bootstrap() && cfg.members() > 1 ? mrng.nextInt(n) : i;
      }
      members.add(trainMember(x, z, sample, cfg, mrng));
    }
    return new SurrogateReward(env, members, mean, std, modelId);
  }

  private static Mlp trainMember(
      double[][] x, double[] z, int[] sample, SurrogateConfig cfg, SplittableRandom rng) {
    Mlp m =
        new Mlp(x[0].length, cfg.hidden(), cfg.hidden(), 1).initOrthogonal(rng, Math.sqrt(2), 1.0);
    Adam adam = new Adam(m.params().length, cfg.learningRate());
    int n = sample.length;
    int[] order = sample.clone();
    for (int epoch = 0; epoch < cfg.epochs(); epoch++) {
      // cosine decay to 10% of the initial rate
      double frac = (double) epoch / cfg.epochs();
      adam.setLearningRate(cfg.learningRate() * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * frac))));
      for (int i = n - 1; i > 0; i--) {
        int j = rng.nextInt(i + 1);
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
      for (int start = 0; start < n; start += cfg.batchSize()) {
        int end = Math.min(n, start + cfg.batchSize());
        m.zeroGrad();
        for (int k = start; k < end; k++) {
          int i = order[k];
          Mlp.Activations f = m.forward(x[i]);
          double err = f.output()[0] - z[i];
          m.backward(f, new double[] {2 * err / (end - start)});
        }
        adam.step(m.params(), m.grad());
      }
    }
    return m;
  }

  /** Test error of k-fold cross-validation, in PPL units (and in log PPL). */
  public record CvReport(
      int folds, int records, double mse, double mae, double logMse, double[] foldMse) {}

  /** k-fold cross-validation: fit on k−1 folds, test on the held-out one, average the errors. */
  public static CvReport crossValidate(
      List<MeasurementRecord> records, EnvConfig env, SurrogateConfig cfg, int folds) {
    int n = records.size();
    if (folds < 2 || folds > n) {
      throw new IllegalArgumentException("need 2 <= folds <= records");
    }
    int[] perm = new int[n];
    for (int i = 0; i < n; i++) {
      perm[i] = i;
    }
    SplittableRandom rng = new SplittableRandom(cfg.seed() * 31 + 17);
    for (int i = n - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
    double se = 0;
    double ae = 0;
    double logSe = 0;
    double[] foldMse = new double[folds];
    for (int f = 0; f < folds; f++) {
      List<MeasurementRecord> train = new ArrayList<>();
      List<MeasurementRecord> test = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        (i % folds == f ? test : train).add(records.get(perm[i]));
      }
      SurrogateReward s = fit(train, env, cfg.withSeed(cfg.seed() + f), "cv");
      double fse = 0;
      for (MeasurementRecord r : test) {
        double p = s.ppl(r.sigma(), r.sigmaH(), r.split());
        double e = p - r.ppl();
        fse += e * e;
        ae += Math.abs(e);
        double le = Math.log(p) - Math.log(r.ppl());
        logSe += le * le;
      }
      se += fse;
      foldMse[f] = fse / test.size();
    }
    return new CvReport(folds, n, se / n, ae / n, logSe / n, foldMse);
  }

  /** The surrogate's stored form (JSON). */
  public record Stored(
      String format,
      String modelId,
      EnvConfig env,
      int inputLength,
      int hiddenSize,
      double targetMean,
      double targetStd,
      List<int[]> sizes,
      List<double[]> params,
      String weightFormat) {}

  public void save(Path file) throws IOException {
    List<int[]> sizes = new ArrayList<>();
    List<double[]> params = new ArrayList<>();
    for (Mlp m : members) {
      sizes.add(m.sizes());
      params.add(m.params().clone());
    }
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    JSON.writeValue(
        file.toFile(),
        new Stored(
            "splitinfer-surrogate-v1",
            modelId,
            env,
            inputLength,
            hiddenSize,
            targetMean,
            targetStd,
            sizes,
            params,
            weightFormat));
  }

  public static SurrogateReward load(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return read(in);
    }
  }

  public static SurrogateReward read(InputStream in) throws IOException {
    Stored s = JSON.readValue(in, Stored.class);
    List<Mlp> members = new ArrayList<>();
    for (int k = 0; k < s.sizes().size(); k++) {
      Mlp m = new Mlp(s.sizes().get(k));
      System.arraycopy(s.params().get(k), 0, m.params(), 0, m.params().length);
      members.add(m);
    }
    return new SurrogateReward(s.env(), members, s.targetMean(), s.targetStd(), s.modelId())
        .withCostDimensions(s.inputLength(), s.hiddenSize())
        .withWeightFormat(s.weightFormat());
  }
}
