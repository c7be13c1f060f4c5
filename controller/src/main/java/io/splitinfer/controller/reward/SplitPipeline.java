package io.splitinfer.controller.reward;

/**
 * The real split pipeline, in process: an evaluation batch of token sequences runs through layers
 * 1..p, the hidden state at the split is impaired by the channel model (eqs. 3–4), layers p+1..L
 * and the head finish, and the perplexity (eq. 6) of the batch comes back. Slow: seconds per call.
 */
public interface SplitPipeline extends AutoCloseable {
  /** Perplexity of the evaluation batch at split {@code split} over channel (σ, σ_h). */
  double perplexity(double sigma, double sigmaH, int split);

  /** The model measured (its id in records). */
  String modelId();

  int numLayers();

  /** d_mid, for the UE cost (eq. 2). */
  int hiddenSize();

  /** d_in: tokens per evaluation sequence, for the UE cost (eq. 2). */
  int inputLength();

  /**
   * Weight format of the UE's layers in the measured model (canonical; the format of layer 1 in a
   * package with per-part formats), recorded with every measurement.
   */
  default String weightFormat() {
    return io.splitinfer.core.objective.WeightFormatCost.DEFAULT;
  }

  @Override
  default void close() {}
}
