package io.splitinfer.ue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** The adaptive k rule: grows on a fully accepted round, shrinks on a rejected first draft. */
class SpecKTest {
  @Test
  void fixedKNeverMoves() {
    SpecK k = new SpecK(4, false);
    k.observe(4, 0);
    k.observe(4, 4);
    assertEquals(4, k.k());
  }

  @Test
  void adaptiveKStaysWithinOneAndTheStartingK() {
    SpecK k = new SpecK(3, true);
    k.observe(3, 0);
    assertEquals(2, k.k());
    k.observe(2, 0);
    k.observe(1, 0);
    k.observe(1, 0);
    assertEquals(1, k.k(), "never below 1");
    k.observe(1, 1);
    assertEquals(2, k.k());
    k.observe(2, 1);
    assertEquals(2, k.k(), "a partly accepted round keeps k");
    k.observe(2, 2);
    k.observe(3, 3);
    assertEquals(3, k.k(), "never above the starting k");
    k.observe(1, 1);
    assertEquals(3, k.k(), "a round capped below k (end of budget) does not grow it");
  }

  @Test
  void setIsClampedAndZeroTurnsSpeculationOff() {
    SpecK k = new SpecK(5, true);
    k.set(9);
    assertEquals(5, k.k());
    k.set(0);
    assertEquals(0, k.k());
    assertThrows(IllegalArgumentException.class, () -> new SpecK(-1, false));
  }

  @Test
  void theControllersCapLimitsKAndKeepsTheOwnK() {
    SpecK k = new SpecK(4, true);
    k.limit(2);
    assertEquals(2, k.k());
    k.limit(0);
    assertEquals(0, k.k(), "cap 0: no speculation");
    k.limit(6);
    assertEquals(4, k.k(), "a cap above the own k changes nothing");
    k.limit(1);
    k.observe(1, 0);
    k.limit(-1);
    assertEquals(3, k.k(), "adaptation went on below the cap; -1 lifts it");
  }
}
