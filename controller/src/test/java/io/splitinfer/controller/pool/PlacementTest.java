package io.splitinfer.controller.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class PlacementTest {
  static Placement.Candidate edge(
      String id, String model, int min, int max, int sessions, long kv, double queue, int placed) {
    return new Placement.Candidate(
        id, id + ":50052", model, min, max, 8, 1000, sessions, kv, queue, placed);
  }

  static final Placement.Request UE = new Placement.Request("m", 1, 11);

  @Test
  void onlyEdgesServingTheModelAndTheWholeSplitRangeFit() {
    List<Placement.Candidate> pool =
        List.of(
            edge("other-model", "x", 0, 12, 0, 0, 0, 0),
            edge("narrow", "m", 4, 12, 0, 0, 0, 0), // cannot take p = 1..3
            edge("short", "m", 0, 10, 0, 0, 0, 0), // cannot take p = 11
            edge("ok", "m", 0, 12, 5, 500, 1, 3));
    assertEquals(List.of("ok"), ids(Placement.rank(pool, UE)));
    assertEquals(
        Placement.Miss.NO_EDGE_SERVES,
        Placement.miss(pool.subList(0, 3), UE),
        "none serves: a precondition, not a capacity problem");
  }

  @Test
  void fullEdgesAreSkippedAndAllFullIsItsOwnMiss() {
    List<Placement.Candidate> pool =
        List.of(edge("a", "m", 0, 12, 8, 0, 0, 8), edge("b", "m", 0, 12, 0, 1000, 0, 0));
    assertTrue(Placement.rank(pool, UE).isEmpty());
    assertEquals(Placement.Miss.ALL_FULL, Placement.miss(pool, UE));
  }

  @Test
  void leastLoadedFirstCountingPlacementsTheReportsHaveNotSeenYet() {
    // b reported 1 session but the controller already placed 4 UEs there: it counts as 4/8
    List<Placement.Candidate> pool =
        List.of(
            edge("a", "m", 0, 12, 2, 100, 0, 2),
            edge("b", "m", 0, 12, 1, 100, 0, 4),
            edge("c", "m", 0, 12, 3, 100, 0, 0));
    assertEquals(List.of("a", "c", "b"), ids(Placement.rank(pool, UE)));
    assertEquals(0.5, Placement.occupancy(pool.get(1)), 1e-12);
  }

  @Test
  void kvBudgetCountsWhenFullerThanTheSessions() {
    List<Placement.Candidate> pool =
        List.of(edge("a", "m", 0, 12, 1, 900, 0, 1), edge("b", "m", 0, 12, 3, 100, 0, 3));
    assertEquals(0.9, Placement.occupancy(pool.get(0)), 1e-12);
    assertEquals(List.of("b", "a"), ids(Placement.rank(pool, UE)));
  }

  @Test
  void tiesGoToTheShorterQueueThenFewerPlacedThenTheSmallerId() {
    List<Placement.Candidate> pool =
        List.of(
            edge("c", "m", 0, 12, 2, 0, 0.0, 1),
            edge("b", "m", 0, 12, 2, 0, 0.0, 2),
            edge("a", "m", 0, 12, 2, 0, 0.5, 0),
            edge("d", "m", 0, 12, 2, 0, 0.0, 1));
    assertEquals(List.of("c", "d", "b", "a"), ids(Placement.rank(pool, UE)));
    assertFalse(Placement.describe(pool.get(0)).isBlank());
  }

  static List<String> ids(List<Placement.Candidate> c) {
    return c.stream().map(Placement.Candidate::edgeId).toList();
  }
}
