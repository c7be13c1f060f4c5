package io.splitinfer.controller.pool;

import io.splitinfer.proto.v1.EdgeCapacity;
import io.splitinfer.proto.v1.EdgeLoad;
import io.splitinfer.proto.v1.EdgeRegistration;

/**
 * Checks of what edges tell the pool: a capacity must be usable, a load must lie within what the
 * edge's own registration declared (a session count above its max_sessions or a negative KV size is
 * not a load, it is a fault or a lie; either way the pool must not place on it).
 */
final class EdgeLoads {
  private EdgeLoads() {}

  /** Why {@code reg}'s capacity cannot be placed on, or null when it can (or it has none). */
  static String invalidCapacity(EdgeRegistration reg) {
    if (!reg.hasCapacity()) {
      return null;
    }
    EdgeCapacity c = reg.getCapacity();
    if (c.getMaxSessions() < 1) {
      return "capacity.max_sessions must be >= 1, got " + c.getMaxSessions();
    }
    if (c.getKvBudgetBytes() < 1) {
      return "capacity.kv_budget_bytes must be >= 1, got " + c.getKvBudgetBytes();
    }
    int layers = reg.getNumLayers();
    if (layers < 1 || c.getMinSplit() < 0 || c.getMinSplit() > c.getMaxSplit()) {
      return "need num_layers >= 1 and 0 <= capacity.min_split <= max_split, got "
          + c.getMinSplit()
          + ".."
          + c.getMaxSplit()
          + " of "
          + layers;
    }
    if (c.getMaxSplit() > layers) {
      return "capacity.max_split " + c.getMaxSplit() + " exceeds num_layers " + layers;
    }
    if (reg.getModelId().isBlank() || reg.getAdvertisedAddress().isBlank()) {
      return "an edge with a capacity needs model_id and advertised_address";
    }
    return null;
  }

  /** Why {@code load} is not a load of an edge with {@code cap}, or null. */
  static String invalidLoad(EdgeLoad load, EdgeCapacity cap) {
    if (load.getActiveSessions() < 0 || load.getActiveSessions() > cap.getMaxSessions()) {
      return "active_sessions "
          + load.getActiveSessions()
          + " outside 0.."
          + cap.getMaxSessions()
          + " (the registered max_sessions)";
    }
    if (load.getKvBytes() < 0 || load.getKvBytes() > cap.getKvBudgetBytes()) {
      return "kv_bytes "
          + load.getKvBytes()
          + " outside 0.."
          + cap.getKvBudgetBytes()
          + " (the registered kv_budget_bytes)";
    }
    double q = load.getDecodeQueue();
    if (!Double.isFinite(q) || q < 0 || q > cap.getMaxSessions()) {
      return "decode_queue "
          + q
          + " must be finite and within 0.."
          + cap.getMaxSessions()
          + " (one waiting step per session at most)";
    }
    return null;
  }
}
