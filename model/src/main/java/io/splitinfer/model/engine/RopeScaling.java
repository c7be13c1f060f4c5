package io.splitinfer.model.engine;

import java.util.Locale;

/**
 * RoPE frequency scaling as Hugging Face {@code rope_scaling} describes it. Supported: none, {@code
 * linear} (positions divided by {@code factor}) and {@code llama3} (wavelength-dependent scaling).
 *
 * @param type "none", "linear" or "llama3"
 * @param factor scaling factor (1 for none)
 * @param lowFreqFactor llama3 only
 * @param highFreqFactor llama3 only
 * @param originalMaxPositions llama3 only: {@code original_max_position_embeddings}
 */
public record RopeScaling(
    String type,
    double factor,
    double lowFreqFactor,
    double highFreqFactor,
    int originalMaxPositions) {

  public static final RopeScaling NONE = new RopeScaling("none", 1.0, 0, 0, 0);

  public RopeScaling {
    type = type.toLowerCase(Locale.ROOT);
    if (!type.equals("none") && !type.equals("linear") && !type.equals("llama3")) {
      throw new IllegalArgumentException(
          "unsupported rope_scaling type '" + type + "' (supported: linear, llama3)");
    }
    if (!(factor > 0)) {
      throw new IllegalArgumentException("rope_scaling factor must be > 0, got " + factor);
    }
    if (type.equals("llama3") && (originalMaxPositions <= 0 || highFreqFactor <= lowFreqFactor)) {
      throw new IllegalArgumentException(
          "llama3 rope_scaling needs original_max_position_embeddings > 0 and high_freq_factor >"
              + " low_freq_factor");
    }
  }

  public static RopeScaling linear(double factor) {
    return factor == 1.0 ? NONE : new RopeScaling("linear", factor, 0, 0, 0);
  }

  /**
   * The inverse frequencies of one head, in float32 as Hugging Face computes them: {@code
   * 1/theta^(2i/headDim)}, then scaled.
   */
  public float[] inverseFrequencies(double theta, int headDim) {
    int half = headDim / 2;
    float[] inv = new float[half];
    for (int i = 0; i < half; i++) {
      // torch: arange(0, hd, 2).float() / hd -> theta ** that (float32) -> 1.0 / that
      float exponent = (float) (2 * i) / (float) headDim;
      float pow = (float) Math.pow((float) theta, exponent);
      inv[i] = 1.0f / pow;
    }
    switch (type) {
      case "linear" -> {
        for (int i = 0; i < half; i++) {
          inv[i] = (float) (inv[i] / factor);
        }
      }
      case "llama3" -> {
        double lowFreqWavelen = originalMaxPositions / lowFreqFactor;
        double highFreqWavelen = originalMaxPositions / highFreqFactor;
        for (int i = 0; i < half; i++) {
          double wavelen = 2 * Math.PI / inv[i];
          double f = inv[i];
          if (wavelen > lowFreqWavelen) {
            f = f / factor;
          } else if (wavelen >= highFreqWavelen) {
            double smooth =
                (originalMaxPositions / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
            f = (1 - smooth) * f / factor + smooth * f;
          }
          inv[i] = (float) f;
        }
      }
      default -> {}
    }
    return inv;
  }
}
