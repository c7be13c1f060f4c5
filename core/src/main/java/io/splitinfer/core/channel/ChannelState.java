package io.splitinfer.core.channel;

/**
 * The one definition of "the channel" that channel-sim's ground truth, the edge's estimator, the
 * controller and the training environment share: the noise standard deviation σ of eq. 3 and the
 * packet-loss probability P of eq. 4, plus the evidence behind them.
 *
 * <p><b>σ_h has one meaning.</b> Eq. 4 makes P depend on the fading scale σ_h and the threshold
 * h_th only through their ratio: P = 1 − exp(−h_th² / (2σ_h²)). Everywhere above the physical
 * channel (reports, decisions, the policy's input, the training environment) σ_h is the scale
 * <em>at the reference threshold</em> {@link #H_TH} = 1, i.e. σ_h = σ_h,phys / h_th,phys = 1/√(−2
 * ln(1 − P)) ({@link #sigmaHForLoss}). channel-sim's physical σ_h and h_th (e.g. σ_h = 0.7943 with
 * h_th set for P = 0.05) therefore appear here as σ_h = 3.12, the same number the controller uses;
 * P = 0 is σ_h = +∞.
 *
 * <p>σ is absolute, in the hidden state's units; NaN means "not known" (no pilot delivered yet, or
 * channel-sim in SNR mode, where σ depends on each tensor's power).
 *
 * @param sigma noise standard deviation σ (≥ 0, or NaN when unknown)
 * @param loss packet-loss probability P in [0, 1] (after ARQ, if any: what reaches the receiver)
 * @param evidence what the numbers were measured from ({@link Evidence#TRUTH} for ground truth)
 */
public record ChannelState(double sigma, double loss, Evidence evidence) {
  /** The reference threshold h_th at which σ_h is stated. */
  public static final double H_TH = 1.0;

  public ChannelState {
    if (!(sigma >= 0) && !Double.isNaN(sigma)) {
      throw new IllegalArgumentException("sigma must be >= 0 or NaN, got " + sigma);
    }
    if (!(loss >= 0 && loss <= 1)) {
      throw new IllegalArgumentException("loss must be in [0, 1], got " + loss);
    }
    if (evidence == null) {
      throw new IllegalArgumentException("evidence is required (Evidence.NONE when there is none)");
    }
  }

  /** A state with no measured evidence (declared by an operator or a test). */
  public static ChannelState declared(double sigma, double loss) {
    return new ChannelState(sigma, loss, Evidence.NONE);
  }

  /** σ_h at {@link #H_TH} that gives this state's P by eq. 4 (+∞ for P = 0). */
  public double sigmaH() {
    return sigmaHForLoss(loss);
  }

  /** Eq. 4 inverted at h_th = {@link #H_TH}: σ_h = h_th / √(−2 ln(1 − P)); +∞ at P = 0. */
  public static double sigmaHForLoss(double loss) {
    if (!(loss >= 0 && loss <= 1)) {
      throw new IllegalArgumentException("loss must be in [0, 1], got " + loss);
    }
    if (loss == 0) {
      return Double.POSITIVE_INFINITY;
    }
    if (loss == 1) {
      return 0;
    }
    return H_TH / Math.sqrt(-2.0 * Math.log1p(-loss));
  }

  /** Eq. 4 at h_th = {@link #H_TH}: P = 1 − exp(−h_th² / (2σ_h²)); 0 at σ_h = +∞, 1 at 0. */
  public static double lossForSigmaH(double sigmaH) {
    if (Double.isNaN(sigmaH) || sigmaH < 0) {
      throw new IllegalArgumentException("sigmaH must be >= 0, got " + sigmaH);
    }
    if (Double.isInfinite(sigmaH)) {
      return 0;
    }
    if (sigmaH == 0) {
      return 1;
    }
    return -Math.expm1(-(H_TH * H_TH) / (2.0 * sigmaH * sigmaH));
  }

  /**
   * channel-sim's ground truth for its parameters: σ (NaN in SNR mode) and the loss probability a
   * receiver sees: eq. 4 at the physical (σ_h, h_th); under RETRANSMIT with N re-sends, each with a
   * fresh gain, P^(N+1); without fading, 1 if h_th &gt; 1 else 0.
   */
  public static ChannelState groundTruth(ChannelParams p) {
    double per = p.expectedLoss();
    double loss =
        p.lossPolicy() == ChannelParams.LossPolicy.RETRANSMIT
                && p.fading() != ChannelParams.Fading.NONE
            ? Math.pow(per, p.maxRetransmissions() + 1)
            : per;
    return new ChannelState(p.useSnr() ? Double.NaN : p.sigma(), loss, Evidence.TRUTH);
  }

  /**
   * What a state was measured from.
   *
   * @param pilots pilots that contributed to σ
   * @param sigmaDof degrees of freedom of the σ estimate (Σ over delivered pilot packets of their
   *     elements − 1); 0 = σ not measured
   * @param packetsSeen packets the loss estimate counted (hidden states and pilots)
   * @param packetsLost of those, packets that were lost
   * @param windowMs time span the observations cover
   */
  public record Evidence(
      long pilots, long sigmaDof, long packetsSeen, long packetsLost, long windowMs) {
    /** No measurement: a declared state. */
    public static final Evidence NONE = new Evidence(0, 0, 0, 0, 0);

    /** Ground truth (channel-sim knows its parameters); carries no counts. */
    public static final Evidence TRUTH = new Evidence(0, 0, 0, 0, 0);

    public Evidence {
      if (pilots < 0 || sigmaDof < 0 || packetsSeen < 0 || packetsLost < 0 || windowMs < 0) {
        throw new IllegalArgumentException("evidence counts must be >= 0");
      }
      if (packetsLost > packetsSeen) {
        throw new IllegalArgumentException(
            "packetsLost " + packetsLost + " > packetsSeen " + packetsSeen);
      }
    }

    /** The observed loss rate (NaN with no packets). */
    public double lossRate() {
      return packetsSeen == 0 ? Double.NaN : (double) packetsLost / packetsSeen;
    }
  }
}
