package io.splitinfer.controller.reward;

import io.splitinfer.controller.env.ChannelDraw;

/**
 * Test fixture: a smooth closed-form PPL(p; σ, σ_h) with the qualitative shape of the paper's Fig.
 * 3 (noisier or lossier channel → higher PPL; a later split → more robust). Not used by any
 * production path.
 */
public final class SyntheticReward implements RewardSource {
  private final int numLayers;

  public SyntheticReward(int numLayers) {
    this.numLayers = numLayers;
  }

  @Override
  public double ppl(double sigma, double sigmaH, int split) {
    double loss = ChannelDraw.lossForSigmaH(sigmaH, 1.0);
    double depth = (double) split / numLayers;
    return 10.0 + (40.0 * sigma * sigma + 60.0 * loss) * Math.exp(-4.0 * depth);
  }

  @Override
  public String name() {
    return "synthetic";
  }
}
