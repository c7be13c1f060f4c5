package io.splitinfer.controller.service;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.splitinfer.proto.v1.SplitDecision;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One WatchSplit stream, honouring flow control (isReady/onReady): a decision is sent at once when
 * the stream is ready; otherwise only the latest decision per UE is kept and sent when the stream
 * becomes ready. Dropping older decisions is safe: each decision supersedes the previous one of its
 * UE (strictly increasing epochs), so a slow watcher sees fewer, never stale, decisions and the
 * controller never buffers without bound.
 */
final class DecisionWatcher {
  private final StreamObserver<SplitDecision> out;
  private final ServerCallStreamObserver<SplitDecision> flow;
  private final Map<String, SplitDecision> pending = new LinkedHashMap<>();
  private final Runnable onDropped;
  private boolean closed;

  /**
   * @param out the stream (flow-controlled when it is a ServerCallStreamObserver)
   * @param onDropped called for every decision superseded before it could be sent
   */
  DecisionWatcher(StreamObserver<SplitDecision> out, Runnable onDropped) {
    this.out = out;
    this.flow = out instanceof ServerCallStreamObserver<SplitDecision> s ? s : null;
    this.onDropped = onDropped;
    if (flow != null) {
      flow.setOnReadyHandler(this::onReady);
    }
  }

  /** Sends or parks {@code d}; false when the stream is gone. */
  synchronized boolean send(SplitDecision d) {
    if (closed) {
      return false;
    }
    if (flow != null && (!flow.isReady() || !pending.isEmpty())) {
      if (flow.isCancelled()) {
        closed = true;
        return false;
      }
      if (pending.put(d.getUeId(), d) != null) {
        onDropped.run();
      }
      if (flow.isReady()) {
        drain();
      }
      return !closed;
    }
    try {
      out.onNext(d);
      return true;
    } catch (RuntimeException e) {
      closed = true; // cancelled or broken stream
      return false;
    }
  }

  synchronized int parked() {
    return pending.size();
  }

  private synchronized void onReady() {
    drain();
  }

  private void drain() {
    List<String> sent = new ArrayList<>();
    try {
      for (var e : pending.entrySet()) {
        if (!flow.isReady()) {
          break;
        }
        out.onNext(e.getValue());
        sent.add(e.getKey());
      }
    } catch (RuntimeException e) {
      closed = true;
    }
    sent.forEach(pending::remove);
  }

  synchronized void complete() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      out.onCompleted();
    } catch (RuntimeException e) {
      // already gone
    }
  }
}
