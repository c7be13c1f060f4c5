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
 * @param ropeScalingFactor linear/llama3 scaling factor (1 = none)
 * @param tiedEmbeddings LM head shares the embedding matrix
 * @param bosTokenId beginning-of-sequence id (-1 if none)
 * @param eosTokenId end-of-sequence id (-1 if none)
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
    double ropeScalingFactor,
    boolean tiedEmbeddings,
    int bosTokenId,
    int eosTokenId) {}
