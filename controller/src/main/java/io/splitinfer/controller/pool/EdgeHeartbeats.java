package io.splitinfer.controller.pool;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.splitinfer.proto.v1.EdgeLoad;
import io.splitinfer.proto.v1.EdgeLoadAck;

/**
 * The server side of one EdgeHeartbeat stream: its first report names the edge and opens its pool
 * membership ({@link EdgePool#open}), every report updates the load, and the stream's end, for any
 * reason, ends the membership ({@link EdgePool#closed}). A refused report (unknown edge, another
 * edge id on the same stream, a load outside the registered capacity) ends the stream with that
 * status. The stream answers once, at its end (EdgeLoadAck: the UEs placed on the edge then).
 */
public final class EdgeHeartbeats implements StreamObserver<EdgeLoad> {
  private final EdgePool pool;
  private final StreamObserver<EdgeLoadAck> out;
  private String edgeId;
  private long token;
  private int placed;
  private boolean done;

  public EdgeHeartbeats(EdgePool pool, StreamObserver<EdgeLoadAck> out) {
    this.pool = pool;
    this.out = out;
  }

  @Override
  public synchronized void onNext(EdgeLoad load) {
    if (done) {
      return;
    }
    try {
      if (edgeId == null) {
        token = pool.open(load.getEdgeId());
        edgeId = load.getEdgeId();
      } else if (!edgeId.equals(load.getEdgeId())) {
        pool.closed(edgeId, token, "refused");
        fail(
            Status.INVALID_ARGUMENT.withDescription(
                "this stream is edge '" + edgeId + "'s, not '" + load.getEdgeId() + "'"));
        return;
      }
      placed = pool.report(edgeId, token, load);
    } catch (PoolException e) {
      if (edgeId != null) {
        pool.closed(edgeId, token, "refused");
      }
      fail(e.status());
    }
  }

  private void fail(Status s) {
    done = true;
    out.onError(s.asRuntimeException());
  }

  @Override
  public synchronized void onError(Throwable t) {
    done = true;
    if (edgeId != null) {
      pool.closed(edgeId, token, "stream_ended");
    }
  }

  @Override
  public synchronized void onCompleted() {
    if (done) {
      return;
    }
    done = true;
    if (edgeId != null) {
      pool.closed(edgeId, token, "stream_ended");
    }
    out.onNext(EdgeLoadAck.newBuilder().setAssignedUes(placed).build());
    out.onCompleted();
  }
}
