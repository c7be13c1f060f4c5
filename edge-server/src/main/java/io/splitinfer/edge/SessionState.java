package io.splitinfer.edge;

import io.grpc.Status;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.SessionMode;

/**
 * What one edge session has agreed at open and reached since: identity, mode, wire dtype, split and
 * epoch, the next position, tokens generated, the last token chosen, and the KV cache of layers
 * split+1..L with its accounting against the {@link SessionTable}'s budget (reserved logical bytes,
 * and the bytes the cache actually holds). A plain holder, changed only under the session's lock by
 * {@link EdgeSession}, {@link StepRunner} and {@link SplitSwitcher}; it owns the cache's lifetime
 * and the session's share of the budget, and never sends or validates anything.
 */
final class SessionState {
  private final SessionTable table;
  private final long budget;
  private final long bytesPerLayerPosition;

  String id = "";
  String ueId = "";
  SessionMode mode;
  Sampler sampler;
  DType wireDtype;
  int split;
  long epoch;
  int maxNewTokens;
  boolean stopAtEos;
  KvCache cache;
  long nextPosition;
  long generated;

  /** The last token the edge chose and its position (-1: none yet); a row sent ahead's test. */
  int lastTokenId = -1;

  long lastTokenPosition = -1;
  private long reservedKv;
  private long heldKv;

  SessionState(SessionTable table, long budget, long bytesPerLayerPosition) {
    this.table = table;
    this.budget = budget;
    this.bytesPerLayerPosition = bytesPerLayerPosition;
  }

  boolean isOpen() {
    return cache != null;
  }

  /**
   * Reserves KV bytes for {@code positions} positions of {@code layers} edge layers (returns the
   * excess when that is less than reserved); RESOURCE_EXHAUSTED when the budget is spent.
   */
  void reserveFor(long positions, int layers) {
    long want = positions * layers * bytesPerLayerPosition;
    long delta = want - reservedKv;
    if (delta > 0 && !table.reserveKv(delta)) {
      throw new SessionException(
          Status.Code.RESOURCE_EXHAUSTED,
          "kv_budget",
          "KV budget of " + budget + " bytes exhausted (session " + id + " needs " + want + ")");
    }
    if (delta < 0) {
      table.reserveKv(delta);
    }
    reservedKv = want;
  }

  /** Brings the held-bytes account up to what the cache holds now ({@code KvCache.bytes()}). */
  void syncHeld() {
    long now = cache == null ? 0 : cache.bytes();
    table.heldKv(now - heldKv);
    heldKv = now;
  }

  /** Closes the cache and returns the session's reserved and held bytes (idempotent). */
  void free() {
    if (cache != null) {
      cache.close();
    }
    if (reservedKv != 0) {
      table.reserveKv(-reservedKv);
      reservedKv = 0;
    }
    if (heldKv != 0) {
      table.heldKv(-heldKv);
      heldKv = 0;
    }
  }
}
