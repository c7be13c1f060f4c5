package io.splitinfer.controller.service;

import java.time.Duration;

/**
 * When a proposed split change is committed, so the split does not flap on a noisy channel
 * estimate: the policy must propose the same new split on {@code confirmations} consecutive
 * evaluations, and at least {@code minDwell} must have passed since the last change. A channel
 * report only triggers an immediate evaluation when σ or the loss probability moved by more than
 * {@code channelDelta} (relative for σ, absolute for loss); otherwise the cadence picks it up.
 *
 * @param confirmations consecutive identical proposals needed (≥ 1)
 * @param minDwell minimum time between two policy-driven changes
 * @param channelDelta change in the channel that triggers an evaluation on report
 */
public record Hysteresis(int confirmations, Duration minDwell, double channelDelta) {
  public Hysteresis {
    if (confirmations < 1 || minDwell.isNegative() || !(channelDelta >= 0)) {
      throw new IllegalArgumentException("invalid hysteresis");
    }
  }

  public static Hysteresis defaults() {
    return new Hysteresis(2, Duration.ofSeconds(2), 0.05);
  }

  public static Hysteresis none() {
    return new Hysteresis(1, Duration.ZERO, 0.0);
  }
}
