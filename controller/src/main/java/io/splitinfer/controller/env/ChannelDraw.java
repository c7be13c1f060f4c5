package io.splitinfer.controller.env;

import io.splitinfer.core.channel.ChannelState;

/**
 * One channel condition of an episode: noise standard deviation σ (eq. 3) and Rayleigh scale σ_h,
 * with the packet-loss probability it implies under threshold h_th (eq. 4). Eq. 4 itself lives in
 * core {@link ChannelState}; with h_th = {@link ChannelState#H_TH} (what the environment and the
 * live controller use) σ_h here is exactly {@link ChannelState#sigmaH()} of the same P.
 *
 * @param sigma additive noise standard deviation (absolute, in the hidden state's units)
 * @param sigmaH Rayleigh fading scale σ_h (+∞ = no fading)
 * @param loss P(h &lt; h_th) = 1 − exp(−h_th²/(2σ_h²))
 */
public record ChannelDraw(double sigma, double sigmaH, double loss) {
  /**
   * Smallest loss probability the environment uses: P = 0 means σ_h = ∞, which a database and a
   * network cannot hold, so P is clamped to at least 1e-4 (σ_h ≈ 70.7·h_th), a negligible loss.
   */
  public static final double MIN_LOSS = 1e-4;

  /** σ_h giving loss probability {@code loss} at threshold {@code hTh} (eq. 4 inverted). */
  public static double sigmaHForLoss(double loss, double hTh) {
    double p = Math.max(MIN_LOSS, Math.min(loss, 1.0 - 1e-12));
    return hTh * ChannelState.sigmaHForLoss(p) / ChannelState.H_TH;
  }

  /** Eq. 4: P(loss) = 1 − exp(−h_th²/(2σ_h²)); 0 for σ_h = ∞. */
  public static double lossForSigmaH(double sigmaH, double hTh) {
    if (sigmaH <= 0) {
      return 1.0;
    }
    return ChannelState.lossForSigmaH(sigmaH * ChannelState.H_TH / hTh);
  }

  public static ChannelDraw ofLoss(double sigma, double loss, double hTh) {
    double sh = sigmaHForLoss(loss, hTh);
    return new ChannelDraw(sigma, sh, lossForSigmaH(sh, hTh));
  }

  public static ChannelDraw ofSigmaH(double sigma, double sigmaH, double hTh) {
    return new ChannelDraw(sigma, sigmaH, lossForSigmaH(sigmaH, hTh));
  }
}
