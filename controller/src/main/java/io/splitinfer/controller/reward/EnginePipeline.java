package io.splitinfer.controller.reward;

import io.splitinfer.controller.env.ChannelDraw;
import io.splitinfer.core.channel.ChannelModel;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.core.objective.WeightFormatCost;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.ppl.Perplexity;
import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * The split pipeline in process, on a model engine: for each sequence of the evaluation batch,
 * embed → layers 1..p → channel (core's {@link ChannelModel}, eqs. 3–4) on the hidden state at the
 * split → layers p+1..L → head, then the perplexity (eq. 6) with the model module's {@link
 * Perplexity}: each sequence of W+1 tokens is one window (window = stride = W, a fresh context),
 * its W next-token targets scored, and the batch's PPL is {@code exp(Σ NLL / Σ scored tokens)}.
 * With consecutive sequences that share their boundary token ({@code t[kW .. kW+W]}) this is
 * exactly {@code Perplexity.evaluate} over the stream with window = stride = W, the training-side
 * protocol of the default model (W = 256 there).
 *
 * <p><b>Channel.</b> The state (σ, σ_h at h_th = 1) is first read as (σ, P_loss) via eq. 4 and sent
 * through channel-sim's convention: unit-power Rayleigh fading (σ_h = √½, E[h²] = 1), the threshold
 * chosen to give P_loss, an equalizing receiver (ŷ/ĥ from pilots), lost packets zero-filled (the
 * paper's choice), float32 elements in 1400-byte packets. The noise σ is absolute. Every
 * measurement seeds the channel from (seed, σ, σ_h, p, sequence), so it can be replayed.
 */
public final class EnginePipeline implements SplitPipeline {
  private final InferenceEngine engine;
  private final int[][] batch;
  private final String modelId;
  private final long seed;
  private String weightFormat = WeightFormatCost.DEFAULT;

  /**
   * @param engine the model (not closed by this pipeline unless {@link #close} is called)
   * @param batch evaluation token sequences (each ≥ 2 tokens)
   * @param modelId the model's id in records
   * @param seed channel seed base
   */
  public EnginePipeline(InferenceEngine engine, int[][] batch, String modelId, long seed) {
    this.engine = engine;
    this.batch = batch;
    this.modelId = modelId;
    this.seed = seed;
  }

  /** Records {@code format} (the UE layers' weight format of the measured package). */
  public EnginePipeline withWeightFormat(String format) {
    this.weightFormat = WeightFormatCost.canonical(format);
    return this;
  }

  @Override
  public String weightFormat() {
    return weightFormat;
  }

  @Override
  public double perplexity(double sigma, double sigmaH, int split) {
    ModelConfig c = engine.config();
    int layers = c.numLayers();
    if (split < 0 || split > layers) {
      throw new IllegalArgumentException("split " + split + " outside 0.." + layers);
    }
    double loss = ChannelDraw.lossForSigmaH(sigmaH, 1.0);
    return splitPpl(engine, batch, split, seq -> channel(sigma, loss, split, seq));
  }

  /**
   * The held-out PPL of {@code batch} (one window per row, all tokens after the first scored) with
   * the model split at {@code split}: layers 1..p, the channel of that row ({@code channelOf} the
   * row index) applied to the hidden state, layers p+1..L and the head. The one home of the
   * in-process split measurement (records and the experiments' Fig. 3 both use it).
   */
  public static double splitPpl(
      InferenceEngine engine, int[][] batch, int split, IntFunction<ChannelModel> channelOf) {
    double nll = 0;
    long count = 0;
    for (int s = 0; s < batch.length; s++) {
      int[] ids = batch[s];
      ChannelModel ch = channelOf.apply(s);
      Perplexity.Result r =
          Perplexity.evaluate(
              ids,
              new Perplexity.Protocol(ids.length - 1, ids.length - 1),
              window -> logProbs(engine, window, split, ch));
      nll += r.totalNll();
      count += r.scoredTokens();
    }
    return Math.exp(nll / count);
  }

  /** log P(w_{i+1} | w_0..w_i) for one window, with the channel applied at the split. */
  private static double[] logProbs(
      InferenceEngine engine, int[] window, int split, ChannelModel ch) {
    ModelConfig c = engine.config();
    int layers = c.numLayers();
    int t = window.length - 1;
    float[] h = engine.embed(Arrays.copyOf(window, t));
    try (KvCache ue = engine.newCache(1, split);
        KvCache edge = engine.newCache(split + 1, layers)) {
      h = engine.runLayers(1, split, h, t, ue);
      ch.impair(h, 4);
      h = engine.runLayers(split + 1, layers, h, t, edge);
    }
    float[] logits = engine.head(h, t);
    int v = c.vocabSize();
    double[] out = new double[t];
    for (int k = 0; k < t; k++) {
      out[k] = Perplexity.logSoftmaxAt(logits, k * v, v, window[k + 1]);
    }
    return out;
  }

  /**
   * RMS of the clean hidden state at every split p = 0..L over the whole batch (p = 0: the
   * embeddings), i.e. the scale that an absolute noise σ is compared with at that split.
   */
  public double[] hiddenRms() {
    return hiddenRms(engine, batch);
  }

  /** {@link #hiddenRms()} of any engine and batch. */
  public static double[] hiddenRms(InferenceEngine engine, int[][] batch) {
    int layers = engine.config().numLayers();
    double[] sq = new double[layers + 1];
    long n = 0;
    for (int[] ids : batch) {
      int t = ids.length - 1;
      float[] h = engine.embed(Arrays.copyOf(ids, t));
      n += h.length;
      for (int p = 0; p <= layers; p++) {
        if (p > 0) {
          // a cache per layer: a cache over 1..L expects every layer to reach the same length
          try (KvCache cache = engine.newCache(p, p)) {
            h = engine.runLayers(p, p, h, t, cache);
          }
        }
        for (float x : h) {
          sq[p] += (double) x * x;
        }
      }
    }
    for (int p = 0; p <= layers; p++) {
      sq[p] = Math.sqrt(sq[p] / n);
    }
    return sq;
  }

  private ChannelModel channel(double sigma, double loss, int split, int seq) {
    long s = seed;
    s = 31 * s + Double.hashCode(sigma);
    s = 31 * s + Double.hashCode(loss);
    s = 31 * s + split;
    s = 31 * s + seq;
    ChannelParams.Builder b =
        ChannelParams.builder().sigma(sigma).lossPolicy(ChannelParams.LossPolicy.ZERO_FILL).seed(s);
    if (loss > 0) {
      b.fading(ChannelParams.Fading.RAYLEIGH)
          .sigmaH(ChannelParams.UNIT_POWER_SIGMA_H)
          .lossProbability(loss)
          .receiver(ChannelParams.Receiver.EQUALIZED);
    } else {
      b.fading(ChannelParams.Fading.NONE);
    }
    return new ChannelModel(b.build());
  }

  @Override
  public String modelId() {
    return modelId;
  }

  @Override
  public int numLayers() {
    return engine.config().numLayers();
  }

  @Override
  public int hiddenSize() {
    return engine.config().hiddenSize();
  }

  @Override
  public int inputLength() {
    return batch[0].length - 1;
  }

  @Override
  public void close() {
    engine.close();
  }
}
