package io.splitinfer.edge;

import java.time.Duration;

/**
 * What one client may hold on the edge, so that no client can take every slot. A client is the
 * caller's authenticated identity (certificate CN or token name) or, for an anonymous caller, its
 * peer IP address ({@link ClientKey}).
 *
 * @param sessionsPerClient open sessions one client may hold; one more is refused with
 *     RESOURCE_EXHAUSTED ({@code edge_rejected_inputs{reason="client_sessions"}})
 * @param streamsPerClient Session streams (opened or not) one client may hold; one more is refused
 *     with RESOURCE_EXHAUSTED ({@code reason="client_streams"})
 * @param openDeadline a stream that has not sent {@code open} this long after it started is ended
 *     with DEADLINE_EXCEEDED ({@code reason="open_deadline"})
 * @param prefillSlots multi-token steps (prompt chunks) run at once, admitted round-robin over
 *     clients ({@link PrefillGate}); decode steps are not limited
 */
public record ClientLimits(
    int sessionsPerClient, int streamsPerClient, Duration openDeadline, int prefillSlots) {
  /** One prefill slot. */
  public ClientLimits(int sessionsPerClient, int streamsPerClient, Duration openDeadline) {
    this(sessionsPerClient, streamsPerClient, openDeadline, 1);
  }

  public ClientLimits {
    if (prefillSlots < 1) {
      throw new IllegalArgumentException("prefillSlots must be >= 1");
    }
    if (sessionsPerClient < 1 || streamsPerClient < 1) {
      throw new IllegalArgumentException("per-client limits must be >= 1");
    }
    if (openDeadline == null || openDeadline.isNegative() || openDeadline.isZero()) {
      throw new IllegalArgumentException("openDeadline must be > 0");
    }
  }

  /** 16 sessions and 32 streams per client, 10 s to send {@code open}, one prefill slot. */
  public static ClientLimits defaults() {
    return new ClientLimits(16, 32, Duration.ofSeconds(10));
  }
}
