package io.splitinfer.controller.baseline;

import io.splitinfer.controller.env.SplitEnvironment;
import java.util.Arrays;

/**
 * The oracle: knows the channel and the reward table (surrogate or records) and plays the optimal
 * episode. Since a step moves the split by at most one layer, it is not enough to jump to p* =
 * argmin of eq. 7; the oracle solves the episode exactly by dynamic programming over the remaining
 * steps,
 *
 * <pre>V_0(p) = 0,   V_k(p) = max_{a} [ r(p ⊕ a) + V_{k−1}(p ⊕ a) ]</pre>
 *
 * with r(p) = −(PPL(p; σ, σ_h) + λ·Ĉ_UE(p)) and p ⊕ a the clamped move. It heads to p* and stays
 * when p* is reachable, and trades off the path otherwise. Undiscounted, like the evaluation.
 */
public final class Oracle implements EpisodePolicy {
  private Object cachedChannel;
  private double[] rewards;

  @Override
  public int act(SplitEnvironment env, double[] obs) {
    int pMin = env.privacyFloor(); // = config p_min unless a privacy floor is set
    int pMax = env.config().pMax();
    if (cachedChannel != env.channel()) {
      cachedChannel = env.channel();
      rewards = new double[pMax - pMin + 1];
      for (int p = pMin; p <= pMax; p++) {
        rewards[p - pMin] = env.rewardAt(p);
      }
    }
    int horizon = env.config().episodeLength() - env.stepInEpisode();
    int n = rewards.length;
    double[] v = new double[n]; // V_0
    for (int k = 1; k < horizon; k++) {
      double[] next = new double[n];
      Arrays.fill(next, Double.NEGATIVE_INFINITY);
      for (int i = 0; i < n; i++) {
        for (int a = 0; a < SplitEnvironment.ACTIONS; a++) {
          int j = Math.max(0, Math.min(n - 1, i + SplitEnvironment.delta(a)));
          next[i] = Math.max(next[i], rewards[j] + v[j]);
        }
      }
      v = next;
    }
    int i = env.split() - pMin;
    int best = 1;
    double bestValue = Double.NEGATIVE_INFINITY;
    // prefer "keep" on ties (index 1 first), then down, then up
    for (int a : new int[] {1, 0, 2}) {
      int j = Math.max(0, Math.min(n - 1, i + SplitEnvironment.delta(a)));
      double q = rewards[j] + v[j];
      if (q > bestValue + 1e-12) {
        bestValue = q;
        best = a;
      }
    }
    return best;
  }

  @Override
  public String name() {
    return "oracle";
  }
}
