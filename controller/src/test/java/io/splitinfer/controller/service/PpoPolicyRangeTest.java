package io.splitinfer.controller.service;

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
}
