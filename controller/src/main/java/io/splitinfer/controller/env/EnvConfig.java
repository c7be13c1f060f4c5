package io.splitinfer.controller.env;

/**
 * The split environment's dimensions and observation normalization.
 *
 * <p><b>Observation.</b> The state s = {σ, σ_h, p} of eq. 8 is fed to the networks as
 *
 * <pre>
 *   o = ( σ / σ_max,   h_th / σ_h,   (p − p_min) / (p_max − p_min) )
 * </pre>
 *
 * σ/σ_max ∈ [0, 1] over the training range; h_th/σ_h = √(−2·ln(1 − P_loss)) is a monotone image of
 * σ_h that stays finite as σ_h → ∞ (no fading → 0; P = 0.3 → 0.845); the split lies in [0, 1].
 *
 * <p><b>σ range.</b> σ is drawn uniformly from [σ_min, σ_max] per episode in every case (the
 * paper's cases differ only in loss and initial split). σ is absolute, in the units of the hidden
 * state at the split; choose σ_max so that the noisiest channel visibly hurts the model at early
 * splits (see the controller README for the value used with the embedded model).
 *
 * @param numLayers L, decoder layers of the model
 * @param pMin smallest split the UE may run (≥ 0)
 * @param pMax largest split (≤ L)
 * @param episodeLength steps per episode (the paper: 5)
 * @param sigmaMin smallest noise σ drawn
 * @param sigmaMax largest noise σ drawn (also the σ normalizer)
 * @param hThreshold h_th of eq. 4
 */
public record EnvConfig(
    int numLayers,
    int pMin,
    int pMax,
    int episodeLength,
    double sigmaMin,
    double sigmaMax,
    double hThreshold) {
  public EnvConfig {
    if (numLayers < 1 || pMin < 0 || pMax > numLayers || pMin >= pMax) {
      throw new IllegalArgumentException(
          "need 0 <= pMin < pMax <= numLayers: " + pMin + ", " + pMax + ", " + numLayers);
    }
    if (episodeLength < 1) {
      throw new IllegalArgumentException("episodeLength must be >= 1");
    }
    if (!(sigmaMin >= 0) || !(sigmaMax > sigmaMin)) {
      throw new IllegalArgumentException("need 0 <= sigmaMin < sigmaMax");
    }
    if (!(hThreshold > 0)) {
      throw new IllegalArgumentException("hThreshold must be > 0");
    }
  }

  /** Splits 1..L−1 (both sides run at least one layer), 5-step episodes, h_th = 1. */
  public static EnvConfig forModel(int numLayers, double sigmaMax) {
    return new EnvConfig(numLayers, 1, numLayers - 1, 5, 0.0, sigmaMax, 1.0);
  }

  /** The same environment with episodes of {@code steps} steps. */
  public EnvConfig withEpisodeLength(int steps) {
    return new EnvConfig(numLayers, pMin, pMax, steps, sigmaMin, sigmaMax, hThreshold);
  }

  public int numSplits() {
    return pMax - pMin + 1;
  }

  public int clampSplit(int p) {
    return Math.max(pMin, Math.min(pMax, p));
  }

  /** The normalized observation of state (σ, σ_h, p). */
  public double[] observe(double sigma, double sigmaH, int p) {
    double fading = Double.isInfinite(sigmaH) ? 0.0 : hThreshold / sigmaH;
    return new double[] {sigma / sigmaMax, fading, (double) (p - pMin) / (pMax - pMin)};
  }
}
