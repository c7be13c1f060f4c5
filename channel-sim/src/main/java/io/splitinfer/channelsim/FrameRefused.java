package io.splitinfer.channelsim;

import io.grpc.Status;

/**
 * An uplink frame channel-sim will not forward (a tensor whose values are not finite, or that the
 * channel cannot carry): the proxied call ends with {@link #status()} and the edge call is
 * cancelled; other calls are untouched.
 */
final class FrameRefused extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final transient Status status;
  private final String reason;

  FrameRefused(Status status, String reason) {
    super(status.getDescription(), null, false, false);
    this.status = status;
    this.reason = reason;
  }

  Status status() {
    return status;
  }

  /** Metric tag of {@code channelsim_rejected}. */
  String reason() {
    return reason;
  }
}
