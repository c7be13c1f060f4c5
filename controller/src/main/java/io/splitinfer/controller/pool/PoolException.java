package io.splitinfer.controller.pool;

import io.grpc.Status;

/** A pool request refused: the status to answer with (code and description). */
public final class PoolException extends Exception {
  private final transient Status status;

  PoolException(Status.Code code, String description) {
    super(description);
    this.status = Status.fromCode(code).withDescription(description);
  }

  public Status status() {
    return status;
  }
}
