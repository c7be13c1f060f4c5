package io.splitinfer.core.objective;

/**
 * The UE's computational load of a split (eq. 2 of the paper):
 *
 * <pre>C_UE(p) = 12·d_in·d_mid² + (p − 1)·12·d_mid³   FLOPs,  p ≥ 1</pre>
 *
 * with {@code d_in} the input sequence length and {@code d_mid} the hidden size.
 *
 * <p><b>Extension to p = 0.</b> Eq. 2 only makes sense for p ≥ 1 (at p = 1 the UE runs one layer
 * and pays the first term). At p = 0 the UE runs no decoder layer (it only embeds the tokens), and
 * the formula would give a smaller-than-one-layer or even negative load; we define {@code C_UE(0) =
 * 0}. Negative splits are rejected.
 *
 * <p>{@link #normalized(int)} divides by the load of running every layer on the UE, {@code
 * C_UE(L)}, so it lies in [0, 1] and a weight λ on it is in the units of the other term (PPL): λ is
 * the PPL one would trade for moving the whole model off the UE. See {@link Objective}.
 *
 * @param inputLength d_in, tokens in the input (≥ 1)
 * @param hiddenSize d_mid, the model's hidden size (≥ 1)
 * @param numLayers L, decoder layers of the model (≥ 1); the normalizer is C_UE(L)
 */
public record UeCost(int inputLength, int hiddenSize, int numLayers) {
  public UeCost {
    if (inputLength < 1 || hiddenSize < 1 || numLayers < 1) {
      throw new IllegalArgumentException(
          "inputLength, hiddenSize and numLayers must be >= 1: "
              + inputLength
              + ", "
              + hiddenSize
              + ", "
              + numLayers);
    }
  }

  /** C_UE(p) in FLOPs (eq. 2), 0 for p = 0. */
  public double flops(int p) {
    if (p < 0 || p > numLayers) {
      throw new IllegalArgumentException("split " + p + " outside [0, " + numLayers + "]");
    }
    if (p == 0) {
      return 0.0;
    }
    double d = hiddenSize;
    return 12.0 * inputLength * d * d + (p - 1) * 12.0 * d * d * d;
  }

  /** C_UE(p) / C_UE(L), in [0, 1]; 0 at p = 0 and 1 at p = L. */
  public double normalized(int p) {
    return flops(p) / flops(numLayers);
  }
}
