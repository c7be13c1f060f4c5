package io.splitinfer.controller.ppo;

/**
 * PPO's clipped surrogate objective (eq. 10) for one sample, written as a loss to minimize:
 *
 * <pre>
 *   loss(ρ) = max( −Â·ρ, −Â·clip(ρ, 1−ε, 1+ε) )     ρ = π_θ(a|s) / π_θ_old(a|s)
 * </pre>
 *
 * (the negative of min(ρÂ, clip(ρ)Â)). Its derivative in ρ is −Â where the unclipped term is the
 * larger one and 0 where the clipped term is, so a sample whose ratio has already moved past the
 * clip in the direction its advantage favours contributes no gradient.
 */
public final class ClippedObjective {
  private ClippedObjective() {}

  public static double loss(double ratio, double advantage, double clip) {
    double unclipped = -advantage * ratio;
    double clipped = -advantage * Math.max(1 - clip, Math.min(1 + clip, ratio));
    return Math.max(unclipped, clipped);
  }

  /** ∂loss/∂ρ. */
  public static double dLossDRatio(double ratio, double advantage, double clip) {
    double unclipped = -advantage * ratio;
    double clipped = -advantage * Math.max(1 - clip, Math.min(1 + clip, ratio));
    return unclipped >= clipped ? -advantage : 0.0;
  }

  /** Whether the clip is active (the sample is cut off from the gradient). */
  public static boolean isClipped(double ratio, double advantage, double clip) {
    return dLossDRatio(ratio, advantage, clip) == 0.0 && advantage != 0.0;
  }
}
