package io.splitinfer.controller.service;

import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.splitinfer.proto.v1.SplitDecision;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * The WatchSplit streams of the service, by UE and by edge, each a flow-controlled {@link
 * DecisionWatcher}. Not synchronized: the service calls it under its one lock ({@code
 * ControllerState.lock}).
 */
final class DecisionWatchers {
  private final Map<String, List<DecisionWatcher>> byUe = new HashMap<>();
  private final Map<String, List<DecisionWatcher>> byEdge = new HashMap<>();
  private final Runnable onSuperseded;

  DecisionWatchers(Runnable onSuperseded) {
    this.onSuperseded = onSuperseded;
  }

  /** Adds a watcher of one UE ({@code ue} true) or of one edge, and sends it {@code current}. */
  void add(boolean ue, String key, StreamObserver<SplitDecision> out, List<SplitDecision> current) {
    List<DecisionWatcher> list =
        (ue ? byUe : byEdge).computeIfAbsent(key, k -> new CopyOnWriteArrayList<>());
    DecisionWatcher w = new DecisionWatcher(out, onSuperseded);
    list.add(w);
    if (out instanceof ServerCallStreamObserver<SplitDecision> sc) {
      sc.setOnCancelHandler(() -> list.remove(w));
    }
    for (SplitDecision d : current) {
      w.send(d);
    }
  }

  /** Whether UE {@code ueId} has a live watch stream of its own. */
  boolean watched(String ueId) {
    List<DecisionWatcher> l = byUe.get(ueId);
    if (l != null && l.isEmpty()) {
      byUe.remove(ueId); // every watcher cancelled: forget the key too
    }
    return l != null && !l.isEmpty();
  }

  /** Sends {@code d} to the watchers of its UE and of its edge. */
  void publish(String ueId, String edgeId, SplitDecision d) {
    publish(byUe.get(ueId), d);
    publish(byEdge.get(edgeId), d);
  }

  private static void publish(List<DecisionWatcher> list, SplitDecision d) {
    if (list == null) {
      return;
    }
    for (DecisionWatcher w : list) {
      if (!w.send(d)) {
        list.remove(w); // cancelled or broken stream
      }
    }
  }

  /** Ends every watch stream (shutdown). */
  void completeAll() {
    for (var m : List.of(byUe, byEdge)) {
      for (var list : m.values()) {
        for (DecisionWatcher w : list) {
          w.complete();
        }
      }
      m.clear();
    }
  }
}
