package io.splitinfer.controller.reward;

/**
 * Where the environment's perplexity PPL(p; σ, σ_h) comes from: a measurement through the real
 * split pipeline ({@link MeasuredReward}), a learned surrogate ({@link SurrogateReward}, eqs.
 * 13–14), or the switch between them ({@link Algorithm1}). The reward of eq. 8 is then {@code −(PPL
 * + λ·Ĉ_UE(p))}, computed by {@link io.splitinfer.core.objective.Objective}.
 */
public interface RewardSource {
  /** Perplexity at split {@code split} over a channel with noise σ and Rayleigh scale σ_h. */
  double ppl(double sigma, double sigmaH, int split);

  /** A short name for logs and records ("measured", "surrogate", ...). */
  String name();
}
