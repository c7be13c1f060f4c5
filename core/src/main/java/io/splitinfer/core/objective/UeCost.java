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
 * <p><b>Weight format.</b> Eq. 2 counts FLOPs, which quantization does not change; what it changes
 * is what the UE pays for them. {@link #cost(int)} weighs the FLOPs by the UE's weight format's
 * measured decode cost relative to float32 ({@link WeightFormatCost#ratio}): an int4 UE running p
 * layers pays about 0.13 (TinyLlama shape) to 0.55 (default model) of what an f32 UE pays.
 *
 * <p>{@link #normalized(int)} divides by the load of running every layer on an <em>f32</em> UE,
 * {@code C_UE(L)} in FLOPs, so it lies in [0, 1] (exactly 1 at p = L for f32, less for a cheaper
 * format) and a weight λ on it is in the units of the other term (PPL): λ is the PPL one would
 * trade for moving the whole f32 model off the UE. See {@link Objective}.
 *
 * @param inputLength d_in, tokens in the input (≥ 1)
 * @param hiddenSize d_mid, the model's hidden size (≥ 1)
 * @param numLayers L, decoder layers of the model (≥ 1); the normalizer is C_UE(L) at f32
 * @param weightFormat the UE's weight format (canonical name, {@link WeightFormatCost#canonical};
 *     null or blank = f32)
 */
public record UeCost(int inputLength, int hiddenSize, int numLayers, String weightFormat) {
  /** An f32 UE. */
  public UeCost(int inputLength, int hiddenSize, int numLayers) {
    this(inputLength, hiddenSize, numLayers, WeightFormatCost.DEFAULT);
  }

  public UeCost {
    weightFormat = WeightFormatCost.canonical(weightFormat);
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

  /** The same model's cost on a UE of another weight format. */
  public UeCost withWeightFormat(String format) {
    return new UeCost(inputLength, hiddenSize, numLayers, format);
  }

  /** Decode cost of this UE's weight format relative to f32 (1 for f32). */
  public double formatRatio() {
    return WeightFormatCost.ratio(weightFormat, hiddenSize);
  }

  /** C_UE(p) for this UE's weight format: eq. 2's FLOPs weighted by {@link #formatRatio()}. */
  public double cost(int p) {
    return flops(p) * formatRatio();
  }

  /**
   * C_UE(p; format) / C_UE(L; f32), in [0, 1]; 0 at p = 0, and at p = L 1 for f32 and the format's
   * ratio otherwise.
   */
  public double normalized(int p) {
    return cost(p) / flops(numLayers);
  }
}
