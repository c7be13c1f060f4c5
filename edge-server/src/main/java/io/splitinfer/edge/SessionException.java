package io.splitinfer.edge;

import io.grpc.Status;

/** A refused input: the status the session ends with and a short metrics reason. */
final class SessionException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final transient Status status;
  private final String reason;

  SessionException(Status.Code code, String reason, String description) {
    super(description);
    this.status = Status.fromCode(code).withDescription(description);
    this.reason = reason;
  }

  Status status() {
    return status;
  }

  String reason() {
    return reason;
  }

  static SessionException invalid(String reason, String description) {
    return new SessionException(Status.Code.INVALID_ARGUMENT, reason, description);
  }

  static SessionException precondition(String reason, String description) {
    return new SessionException(Status.Code.FAILED_PRECONDITION, reason, description);
  }
}
