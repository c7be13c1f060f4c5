package io.splitinfer.model.engine;

/**
 * Dimensions and hyper-parameters of a Llama-family decoder (what {@code config.json} says).
 *
 * @param numLayers L, decoder layers; a split p in 0..L runs layers 1..p on the UE
 * @param hiddenSize d (the paper's d_mid)
 * @param intermediateSize SwiGLU inner size
 * @param numHeads query heads
 * @param numKvHeads key/value heads (grouped-query attention when < numHeads)
 * @param headDim per-head size
 * @param vocabSize tokens
 * @param maxPositions longest sequence
 * @param rmsNormEps RMSNorm epsilon
 * @param ropeTheta RoPE base
 * @param tiedEmbeddings LM head shares the embedding matrix
 * @param bosTokenId beginning-of-sequence id (-1 if none)
 * @param eosTokenId end-of-sequence id (-1 if none)
 * @param ropeScaling the full RoPE scaling description ({@link RopeScaling#NONE} when none)
 */
public record ModelConfig(
    int numLayers,
    int hiddenSize,
    int intermediateSize,
    int numHeads,
    int numKvHeads,
    int headDim,
    int vocabSize,
    int maxPositions,
    double rmsNormEps,
    double ropeTheta,
    boolean tiedEmbeddings,
    int bosTokenId,
    int eosTokenId,
    RopeScaling ropeScaling) {

  public ModelConfig {
    if (ropeScaling == null) {
      ropeScaling = RopeScaling.NONE;
    }
    if (numLayers < 0
        || hiddenSize <= 0
        || intermediateSize <= 0
        || numHeads <= 0
        || numKvHeads <= 0
        || headDim <= 0
        || vocabSize <= 0) {
      throw new IllegalArgumentException(
          "model dimensions must be positive: "
              + dimsString(
                  numLayers,
                  hiddenSize,
                  intermediateSize,
                  numHeads,
                  numKvHeads,
                  headDim,
                  vocabSize));
    }
    if (numHeads % numKvHeads != 0) {
      throw new IllegalArgumentException(
          "num_attention_heads "
              + numHeads
              + " is not a multiple of num_key_value_heads "
              + numKvHeads);
    }
    if (headDim % 2 != 0) {
      throw new IllegalArgumentException("head_dim must be even for RoPE, got " + headDim);
    }
  }

  /** The RoPE scaling factor (1 = none), from {@link #ropeScaling()}. */
  public double ropeScalingFactor() {
    return ropeScaling.factor();
  }

  /** numKvHeads * headDim: the width of one position's keys (or values). */
  public int kvDim() {
    return numKvHeads * headDim;
  }

  /** numHeads * headDim: the width of the attention output. */
  public int qDim() {
    return numHeads * headDim;
  }

  /** Query heads per key/value head. */
  public int groupSize() {
    return numHeads / numKvHeads;
  }

  /** Parameters of one decoder layer. */
  public long layerParameters() {
    long d = hiddenSize;
    return d * qDim() * 2L + 2L * d * kvDim() + 3L * d * intermediateSize + 2L * d;
  }

  /** A copy with a different layer count (handy for tests and benchmarks). */
  public ModelConfig withLayers(int layers) {
    return new ModelConfig(
        layers,
        hiddenSize,
        intermediateSize,
        numHeads,
        numKvHeads,
        headDim,
        vocabSize,
        maxPositions,
        rmsNormEps,
        ropeTheta,
        tiedEmbeddings,
        bosTokenId,
        eosTokenId,
        ropeScaling);
  }

  private static String dimsString(int... v) {
    return java.util.Arrays.toString(v);
  }
}
