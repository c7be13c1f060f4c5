package io.splitinfer.controller.service;

import java.time.Duration;

/**
 * When the controller acts, so the split does not flap on a noisy channel estimate. Two levels:
 *
 * <ul>
 *   <li><b>State</b> ({@link ChannelFusion}): the state in force moves to the estimate only when σ
 *       moved by more than {@code sigmaDelta} (relative) or P left the estimate's 95 % interval by
 *       more than {@code lossDelta} (absolute), with enough evidence;
 *   <li><b>Split</b>: the policy must propose the same new split on {@code confirmations}
 *       consecutive evaluations, at least {@code minDwell} must have passed since the last change,
 *       and under one state in force the split never returns to a split it already left (a policy
 *       that would cycle p → p+1 → p settles instead).
 * </ul>
 *
 * @param confirmations consecutive identical proposals needed (≥ 1)
 * @param minDwell minimum time between two policy-driven changes
 * @param sigmaDelta relative change of σ that moves the state in force
 * @param lossDelta absolute change of P (beyond its 95 % interval) that moves the state in force
 */
public record Hysteresis(
    int confirmations, Duration minDwell, double sigmaDelta, double lossDelta) {
  public static final double DEFAULT_SIGMA_DELTA = 0.10;
  public static final double DEFAULT_LOSS_DELTA = 0.01;

  public Hysteresis {
    if (confirmations < 1 || minDwell.isNegative() || !(sigmaDelta >= 0) || !(lossDelta >= 0)) {
      throw new IllegalArgumentException("invalid hysteresis");
    }
  }

  /** With the default loss delta. */
  public Hysteresis(int confirmations, Duration minDwell, double sigmaDelta) {
    this(confirmations, minDwell, sigmaDelta, DEFAULT_LOSS_DELTA);
  }

  public static Hysteresis defaults() {
    return new Hysteresis(2, Duration.ofSeconds(2), DEFAULT_SIGMA_DELTA, DEFAULT_LOSS_DELTA);
  }

  public static Hysteresis none() {
    return new Hysteresis(1, Duration.ZERO, 0.0, 0.0);
  }
}
