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
 * beyond the hysteresis: σ by more than {@code sigmaDelta} (relative), or P such that the state in
 * force lies outside the 95 % interval of P̂ <em>and</em> differs from P̂ by more than {@code
 * lossDelta}. Between reports the state in force holds (an idle UE keeps its last state). A
 * declared state (a report without evidence, or channel-sim's truth under the oracle source)
 * replaces the state in force at once and restarts the fusion.
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

  private final Config config;
  private double n;
  private double k;
  private double dof;
  private double ss;
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
   * sigmaDelta} relative, the channel changed and the older evidence (σ and P) is dropped.
   */
  void add(ChannelState inc, long nowMs, double sigmaDelta) {
    ChannelState.Evidence ev0 = inc.evidence();
    if (dof > 0 && ev0.sigmaDof() >= config.minSigmaDof() && !Double.isNaN(inc.sigma())) {
      double fused = Math.sqrt(ss / dof);
      double tol = 4 / Math.sqrt(2.0 * ev0.sigmaDof()) + sigmaDelta;
      if (Math.abs(inc.sigma() - fused) > tol * Math.max(fused, inc.sigma()) + 1e-6) {
        n = 0;
        k = 0;
        dof = 0;
        ss = 0;
        changePoints++;
      }
    }
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
    lastMs = Long.MIN_VALUE;
    inForce = s;
  }

  /**
   * Puts the estimate in force when it has enough evidence and moved beyond the hysteresis; returns
   * whether it did.
   */
  boolean maybeAct(Hysteresis h) {
    if (n < config.minPackets() || dof < config.minSigmaDof()) {
      return false;
    }
    ChannelState e = estimate();
    if (inForce == null || Double.isNaN(inForce.sigma())) {
      inForce = e;
      return true;
    }
    double s0 = inForce.sigma();
    boolean sigmaMoved = Math.abs(e.sigma() - s0) > h.sigmaDelta() * Math.max(e.sigma(), s0) + 1e-6;
    boolean lossMoved =
        !lossInterval().contains(inForce.loss())
            && Math.abs(e.loss() - inForce.loss()) > h.lossDelta();
    if (sigmaMoved || lossMoved) {
      inForce = e;
      return true;
    }
    return false;
  }
}
