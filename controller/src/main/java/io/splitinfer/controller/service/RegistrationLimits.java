package io.splitinfer.controller.service;

import java.time.Duration;

/**
 * Bounds on the controller's UE registry, so a flood of registrations cannot grow it without end.
 *
 * @param maxUes registered UEs at most; a registration of a new {@code ue_id} beyond it is refused
 *     with RESOURCE_EXHAUSTED ({@code controller_registrations_refused_total{reason="cap"}})
 * @param ttl a UE with no activity (registration, report about it, GetSplit) this long and no live
 *     WatchSplit stream is forgotten ({@code controller_ues_expired_total}); it registers again
 */
public record RegistrationLimits(int maxUes, Duration ttl) {
  public RegistrationLimits {
    if (maxUes < 1) {
      throw new IllegalArgumentException("maxUes must be >= 1, got " + maxUes);
    }
    if (ttl == null || ttl.isNegative() || ttl.isZero()) {
      throw new IllegalArgumentException("the registration ttl must be > 0");
    }
  }

  /** 10,000 UEs, forgotten after 10 minutes without activity. */
  public static RegistrationLimits defaults() {
    return new RegistrationLimits(10_000, Duration.ofMinutes(10));
  }
}
