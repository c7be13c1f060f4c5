package io.splitinfer.controller.reward;

import io.splitinfer.controller.env.ChannelDraw;
import io.splitinfer.core.channel.ChannelModel;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.ModelConfig;

/**
 * The split pipeline in process, on a model engine: for each sequence of the evaluation batch,
 * embed → layers 1..p → channel (core's {@link ChannelModel}, eqs. 3–4) on the hidden state at the
 * split → layers p+1..L → head, then the perplexity (eq. 6) of every next token over the whole
 * batch: {@code exp(Σ NLL / Σ predicted tokens)}.
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

  @Override
  public double perplexity(double sigma, double sigmaH, int split) {
    ModelConfig c = engine.config();
    int layers = c.numLayers();
    if (split < 0 || split > layers) {
      throw new IllegalArgumentException("split " + split + " outside 0.." + layers);
    }
    double loss = ChannelDraw.lossForSigmaH(sigmaH, 1.0);
    double nll = 0;
    long count = 0;
    for (int s = 0; s < batch.length; s++) {
      int[] ids = batch[s];
      int t = ids.length;
      float[] h = engine.embed(ids);
      try (KvCache ue = engine.newCache(1, split);
          KvCache edge = engine.newCache(split + 1, layers)) {
        h = engine.runLayers(1, split, h, t, ue);
        channel(sigma, loss, split, s).impair(h, 4);
        h = engine.runLayers(split + 1, layers, h, t, edge);
      }
      float[] logits = engine.head(h, t);
      int v = c.vocabSize();
      for (int k = 0; k + 1 < t; k++) {
        int off = k * v;
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < v; j++) {
          max = Math.max(max, logits[off + j]);
        }
        double sum = 0;
        for (int j = 0; j < v; j++) {
          sum += Math.exp(logits[off + j] - max);
        }
        nll += max + Math.log(sum) - logits[off + ids[k + 1]];
        count++;
      }
    }
    return Math.exp(nll / count);
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
    return batch[0].length;
  }

  @Override
  public void close() {
    engine.close();
  }
}
