package io.splitinfer.controller.service;

import io.splitinfer.core.channel.BinomialInterval;
import io.splitinfer.core.channel.ChannelState;
import java.time.Duration;

/**
 * One UE's channel estimate, fused from the evidence increments the receiver reports, and the state
 * the controller acts on. Not thread-safe (the service guards it).
 *
 * <p><b>Estimator.</b> Exponentially weighted counts with half-life T: before an increment (n
 * packets, k lost, d degrees of freedom of σ̂² with σ_inc) arriving Δt after the previous one,
 * every sum is multiplied by w = 2^(−Δt/T); then N += n, K += k, D += d, S += d·σ_inc². The
 * estimate is P̂ = K/N with the 95 % Wilson interval of (K, N) ({@link BinomialInterval}), and σ̂ =
 * √(S/D) (the pooled residual variance of the pilots). N is the effective number of packets behind
 * P̂.
 *
 * <p><b>Acting.</b> The state in force (what the policy sees) is replaced by the estimate only when
 * there is enough evidence (N ≥ {@code minPackets}, D ≥ {@code minSigmaDof}) and the estimate moved
 * beyond the hysteresis: σ by more than {@code sigmaDelta} (relative, and at least {@value
 * #SIGMA_RESOLUTION} absolute), or P such that the state in force lies outside the 95 % interval of
 * P̂ <em>and</em> differs from P̂ by more than {@code lossDelta}; right after a change point σ may
 * move alone ({@link #maybeAct}). The <em>first</em> state goes in force as soon as σ has its
 * evidence and {@value #FIRST_STATE_PACKETS} packets are in (a UE with no state in force would
 * otherwise run at its initial split until N reaches {@code minPackets}); P then corrects itself
 * through the interval rule. Between reports the state in force holds (an idle UE keeps its last
 * state). A declared state (a report without evidence, or channel-sim's truth under the oracle
 * source) replaces the state in force at once and restarts the fusion.
 */
public final class ChannelFusion {
  /**
   * @param halfLife half-life T of the evidence weights
   * @param minPackets effective packets needed before acting
   * @param minSigmaDof degrees of freedom of σ̂² needed before acting
   */
  public record Config(Duration halfLife, double minPackets, double minSigmaDof) {
    public Config {
      if (halfLife.isNegative() || halfLife.isZero() || !(minPackets >= 0) || !(minSigmaDof >= 0)) {
        throw new IllegalArgumentException("invalid fusion config");
      }
    }

    public static Config defaults() {
      return new Config(Duration.ofSeconds(20), 32, 300);
    }
  }

  /** Packets the loss test's window needs before it can signal a loss change point. */
  static final int MIN_CHANGE_PACKETS = 16;

  /** Standard errors between an increment's loss rate and P̂ that signal a loss change point. */
  static final double LOSS_CHANGE_Z = 4.0;

  /**
   * Absolute σ below which differences do not count, neither as a change point nor as a move of the
   * state in force. Near σ = 0 the pilots' σ̂ varies by more than any relative tolerance (0.09 vs
   * 0.44), which restarted the fusion on every report; the measured PPL table is flat there (σ ≤
   * 1.5 changes no split's PPL by more than a few points).
   */
  static final double SIGMA_RESOLUTION = 0.5;

  /** Packets (with σ's evidence) before the first state goes in force. */
  static final int FIRST_STATE_PACKETS = 8;

  private final Config config;
  private double n;
  private double k;
  private double dof;
  private double ss;
  // the loss change test's window: packets and losses of the increments since the last test
  private double windowN;
  private double windowK;
  private long lastMs = Long.MIN_VALUE;
  private long reports;
  private long changePoints;
  private ChannelState inForce;

  ChannelFusion(Config config) {
    this.config = config;
  }

  /**
   * Adds one increment of evidence observed at {@code nowMs}. A change point restarts the fusion
   * from the increment: when the increment's own σ (from d ≥ {@code minSigmaDof} degrees of
   * freedom, relative standard error ≈ 1/√(2d)) differs from σ̂ by more than 4/√(2d) + {@code
   * sigmaDelta} relative (and more than {@value #SIGMA_RESOLUTION} absolute), the channel changed
   * and the older evidence (σ and P) is dropped. The same for P, over a window of the increments
   * since the last test: once the window holds at least {@value #MIN_CHANGE_PACKETS} packets (one
   * increment, or several small ones: a receiver reporting every 4 packets), its loss rate k/n is
   * compared with the evidence before it (N', K'); when they differ by more than {@value
   * #LOSS_CHANGE_Z} standard errors of the difference (two-proportion z-test with the pooled rate,
   * p̄(1−p̄)(1/n + 1/N'), N' ≥ {@code minPackets}), the loss changed (a burst began or ended) and
   * only the window's loss evidence is kept (σ's is kept).
   */
  void add(ChannelState inc, long nowMs, double sigmaDelta) {
    ChannelState.Evidence ev0 = inc.evidence();
    if (dof > 0 && ev0.sigmaDof() >= config.minSigmaDof() && !Double.isNaN(inc.sigma())) {
      double fused = Math.sqrt(ss / dof);
      double tol = 4 / Math.sqrt(2.0 * ev0.sigmaDof()) + sigmaDelta;
      if (sigmaDiffers(inc.sigma(), fused, tol)) {
        n = 0;
        k = 0;
        dof = 0;
        ss = 0;
        windowN = 0;
        windowK = 0;
        changePoints++;
      }
    }
    lossChangeTest(ev0.packetsSeen(), ev0.packetsLost());
    if (lastMs != Long.MIN_VALUE && nowMs > lastMs) {
      double w = Math.pow(0.5, (nowMs - lastMs) / (double) config.halfLife().toMillis());
      n *= w;
      k *= w;
      dof *= w;
      ss *= w;
    }
    lastMs = Math.max(lastMs, nowMs);
    ChannelState.Evidence ev = inc.evidence();
    n += ev.packetsSeen();
    k += ev.packetsLost();
    if (ev.sigmaDof() > 0 && !Double.isNaN(inc.sigma())) {
      dof += ev.sigmaDof();
      ss += ev.sigmaDof() * inc.sigma() * inc.sigma();
    }
    reports++;
  }

  /**
   * Adds an increment's packets to the loss test's window; when the window holds enough packets it
   * is tested against the evidence before it (a change keeps only the window's packets) and
   * emptied. Runs before the increment itself is added to the counts.
   */
  private void lossChangeTest(double seen, double lost) {
    double earlierN = windowN;
    double earlierK = windowK;
    windowN += seen;
    windowK += lost;
    if (windowN < MIN_CHANGE_PACKETS) {
      return;
    }
    // the counts already hold the window's earlier increments: the evidence before the window
    double beforeN = Math.max(0, n - earlierN);
    double beforeK = Math.max(0, Math.min(beforeN, k - earlierK));
    if (Math.round(beforeN) >= config.minPackets()) {
      double pooled = (beforeK + windowK) / (beforeN + windowN);
      double se = Math.sqrt(pooled * (1 - pooled) * (1 / windowN + 1 / beforeN));
      double diff = Math.abs(windowK / windowN - beforeK / beforeN);
      if (se > 0 && diff > LOSS_CHANGE_Z * se) {
        n = Math.min(n, earlierN);
        k = Math.min(n, Math.min(k, earlierK));
        changePoints++;
      }
    }
    windowN = 0;
    windowK = 0;
  }

  /** The current estimate (σ NaN before any pilot); its evidence holds the effective counts. */
  ChannelState estimate() {
    return new ChannelState(
        dof > 0 ? Math.sqrt(ss / dof) : Double.NaN,
        n > 0 ? Math.min(1, k / n) : 0,
        new ChannelState.Evidence(0, Math.round(dof), Math.round(n), Math.round(k), 0));
  }

  /** 95 % Wilson interval of P̂. */
  BinomialInterval lossInterval() {
    return BinomialInterval.wilson95(Math.min(k, n), n);
  }

  double effectivePackets() {
    return n;
  }

  long reports() {
    return reports;
  }

  long changePoints() {
    return changePoints;
  }

  /** The state decisions are made on (null before any). */
  ChannelState inForce() {
    return inForce;
  }

  /** Replaces the state in force and forgets the evidence. */
  void declare(ChannelState s) {
    n = 0;
    k = 0;
    dof = 0;
    ss = 0;
    windowN = 0;
    windowK = 0;
    lastMs = Long.MIN_VALUE;
    inForce = s;
  }

  /**
   * Puts the estimate in force when it has enough evidence and moved beyond the hysteresis; returns
   * whether it did. With σ's evidence but fewer than {@code minPackets} effective packets (right
   * after a change point) a σ that moved beyond the hysteresis goes in force alone, with the P in
   * force kept: σ follows a step within one pilot, P once it has its packets. The first state goes
   * in force with {@value #FIRST_STATE_PACKETS} packets.
   */
  boolean maybeAct(Hysteresis h) {
    if (dof < config.minSigmaDof()) {
      return false;
    }
    ChannelState e = estimate();
    boolean none = inForce == null || Double.isNaN(inForce.sigma());
    if (none && Math.round(n) >= FIRST_STATE_PACKETS) {
      inForce = e;
      return true;
    }
    if (Math.round(n) < config.minPackets()) {
      // σ has its evidence but P not yet (after a change point): σ moves alone, P holds
      if (none) {
        return false;
      }
      double s0 = inForce.sigma();
      if (sigmaMoved(e.sigma(), s0, h)) {
        inForce = new ChannelState(e.sigma(), inForce.loss(), e.evidence());
        return true;
      }
      return false;
    }
    if (none) {
      inForce = e;
      return true;
    }
    double s0 = inForce.sigma();
    boolean sigmaMoved = sigmaMoved(e.sigma(), s0, h);
    boolean lossMoved =
        !lossInterval().contains(inForce.loss())
            && Math.abs(e.loss() - inForce.loss()) > h.lossDelta();
    if (sigmaMoved || lossMoved) {
      inForce = e;
      return true;
    }
    return false;
  }

  /**
   * σ moved beyond the hysteresis: by more than sigmaDelta relative and the resolution absolute.
   */
  private static boolean sigmaMoved(double estimate, double inForce, Hysteresis h) {
    return sigmaDiffers(estimate, inForce, h.sigmaDelta());
  }

  /**
   * Whether two σ differ by more than {@code relative} of the larger and by more than {@value
   * #SIGMA_RESOLUTION}: the one rule behind change points and moves of the state in force.
   */
  private static boolean sigmaDiffers(double a, double b, double relative) {
    double limit = Math.max(relative * Math.max(a, b), SIGMA_RESOLUTION);
    return Math.abs(a - b) > limit + 1e-6;
  }
}
