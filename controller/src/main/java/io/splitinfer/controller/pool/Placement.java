package io.splitinfer.controller.pool;

import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * The pool's placement rule, its one home: which edges may take a UE, and which of them is the
 * least loaded.
 *
 * <p><b>Fits</b>: the edge serves the UE's model (same model id) and accepts every split the UE may
 * be moved to (edge min_split ≤ UE min_split and UE max_split ≤ edge max_split), and it has room
 * (reported sessions below its max_sessions, reserved KV below its budget).
 *
 * <p><b>Load</b> ({@link #occupancy}): the fuller of its two budgets, sessions and KV bytes, where
 * sessions count as {@code max(reported open sessions, UEs the controller placed there)}: reports
 * lag (an edge reports every second or so), placements do not, so eight UEs registering within one
 * report interval still spread out. Ties go to the shorter decode queue, then to fewer placed UEs,
 * then to the smaller edge id (deterministic).
 */
public final class Placement {
  private Placement() {}

  /**
   * An edge as placement sees it.
   *
   * @param sessions open sessions it reported
   * @param kvBytes KV bytes it reported reserved
   * @param decodeQueue mean decode steps waiting it reported
   * @param placed UEs the controller placed on it
   */
  public record Candidate(
      String edgeId,
      String address,
      String modelId,
      int minSplit,
      int maxSplit,
      int maxSessions,
      long kvBudgetBytes,
      int sessions,
      long kvBytes,
      double decodeQueue,
      int placed) {}

  /** What a UE needs: its model and the split range the controller may move it over. */
  public record Request(String modelId, int minSplit, int maxSplit) {}

  /** Why nothing fits (the caller maps it to a status). */
  public enum Miss {
    /** No edge serves the model and the split range. */
    NO_EDGE_SERVES,
    /** Some serve it, but every one of them is full. */
    ALL_FULL
  }

  /** Whether {@code c} serves {@code r}'s model and split range (full or not). */
  public static boolean serves(Candidate c, Request r) {
    return c.modelId().equals(r.modelId())
        && c.minSplit() <= r.minSplit()
        && r.maxSplit() <= c.maxSplit();
  }

  /** Whether {@code c} has room for one more session. */
  public static boolean hasRoom(Candidate c) {
    return c.sessions() < c.maxSessions() && c.kvBytes() < c.kvBudgetBytes();
  }

  /** The fuller of its session and KV budgets, 0 = idle, 1 = full. */
  public static double occupancy(Candidate c) {
    double s = Math.max(c.sessions(), c.placed()) / (double) Math.max(1, c.maxSessions());
    double kv = c.kvBytes() / (double) Math.max(1, c.kvBudgetBytes());
    return Math.max(s, kv);
  }

  private static final Comparator<Candidate> LEAST_LOADED =
      Comparator.comparingDouble(Placement::occupancy)
          .thenComparingDouble(Candidate::decodeQueue)
          .thenComparingInt(Candidate::placed)
          .thenComparing(Candidate::edgeId);

  /** Edges that fit {@code r}, least loaded first (empty: see {@link #miss}). */
  public static List<Candidate> rank(List<Candidate> pool, Request r) {
    return pool.stream().filter(c -> serves(c, r) && hasRoom(c)).sorted(LEAST_LOADED).toList();
  }

  /** Why {@link #rank} found nothing for {@code r}. */
  public static Miss miss(List<Candidate> pool, Request r) {
    return pool.stream().anyMatch(c -> serves(c, r)) ? Miss.ALL_FULL : Miss.NO_EDGE_SERVES;
  }

  /** One line on a candidate's load, for assignments and logs. */
  public static String describe(Candidate c) {
    return String.format(
        Locale.ROOT,
        "%s: sessions %d/%d (placed %d), kv %.3f, queue %.2f",
        c.edgeId(),
        c.sessions(),
        c.maxSessions(),
        c.placed(),
        c.kvBytes() / (double) Math.max(1, c.kvBudgetBytes()),
        c.decodeQueue());
  }
}
