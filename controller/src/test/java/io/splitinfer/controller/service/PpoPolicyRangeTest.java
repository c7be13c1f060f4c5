package io.splitinfer.controller.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The live PPO policy never leaves the split range it was trained on, even when the UE accepts a
 * wider one (the shipped policy was trained on 1..11; a UE registers 0..12). Splitting at p = 0
 * sends raw embeddings, which a noisy channel destroys.
 */
class PpoPolicyRangeTest {
  @Test
  void shippedPpoStaysInsideItsTrainingRangeForEveryChannelAndStart() {
    SplitPolicy ppo = new PolicyFactory("", "", -1, 1).create("ppo", "");
    for (double sigma = 0; sigma <= 8; sigma += 0.25) {
      for (double sigmaH : new double[] {0.5, 0.7071, 1.0, 1.6, 3.0}) {
        for (int current = 0; current <= 12; current++) {
          int p = ppo.propose(sigma, sigmaH, current, 0, 12);
          assertTrue(
              p >= 1 && p <= 11,
              "sigma " + sigma + " sigma_h " + sigmaH + " from " + current + " proposed " + p);
        }
      }
    }
  }

  /**
   * The multi-move PPO decision is exactly where repeated one-move decisions on the same state
   * arrive (stopping at "stay", before a cycle, or after maxMoves moves), and stays in range.
   */
  @Test
  void multiMoveDecisionIsTheOneMovePolicyRolledForward() {
    SplitPolicy one = new PolicyFactory("", "", -1, 1).create("ppo", "");
    SplitPolicy many = new PolicyFactory("", "", -1, 1).ppoMoves(11).create("ppo", "");
    SplitPolicy two = new PolicyFactory("", "", -1, 1).ppoMoves(2).create("ppo", "");
    int moved = 0;
    for (double sigma = 0; sigma <= 8; sigma += 0.5) {
      for (double sigmaH : new double[] {0.7071, 1.0, 3.0}) {
        for (int current = 1; current <= 11; current++) {
          java.util.List<Integer> path = new java.util.ArrayList<>(java.util.List.of(current));
          int p = current;
          for (int m = 0; m < 11; m++) {
            int next = one.propose(sigma, sigmaH, p, 0, 12);
            if (next == p || path.contains(next)) {
              break;
            }
            path.add(next);
            p = next;
          }
          assertEquals(p, many.propose(sigma, sigmaH, current, 0, 12), "sigma " + sigma);
          assertEquals(
              path.get(Math.min(2, path.size() - 1)),
              two.propose(sigma, sigmaH, current, 0, 12),
              "two moves at most, sigma " + sigma);
          moved += Math.abs(p - current) > 1 ? 1 : 0;
        }
      }
    }
    assertTrue(moved > 0, "some decisions move more than one layer");
  }
}
