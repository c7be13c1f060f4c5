package io.splitinfer.controller.ppo;

/**
 * Generalized advantage estimation (eq. 11; Schulman et al. 2016):
 *
 * <pre>
 *   δ_t = r_t + γ·V(s_{t+1})·(1 − done_t) − V(s_t)
 *   Â_t = δ_t + γ·ξ·(1 − done_t)·Â_{t+1}
 *   R_t = Â_t + V(s_t)            (the critic's regression target)
 * </pre>
 *
 * where done_t says the episode ended with step t, and V(s_n) of the step after the rollout is
 * {@code lastValue} (bootstrapped unless the last step ended an episode).
 */
public final class Gae {
  private Gae() {}

  /** Computes advantages and returns in place from arrays of length n. */
  public static void compute(
      double[] rewards,
      double[] values,
      boolean[] terminals,
      double lastValue,
      double gamma,
      double lambda,
      double[] advantages,
      double[] returns) {
    int n = rewards.length;
    double next = 0.0;
    for (int t = n - 1; t >= 0; t--) {
      double notDone = terminals[t] ? 0.0 : 1.0;
      double nextValue = t == n - 1 ? lastValue : values[t + 1];
      double delta = rewards[t] + gamma * nextValue * notDone - values[t];
      next = delta + gamma * lambda * notDone * next;
      advantages[t] = next;
      returns[t] = next + values[t];
    }
  }

  /** Fills the buffer's advantages and returns. */
  public static void compute(RolloutBuffer b, double lastValue, double gamma, double lambda) {
    compute(b.rewards, b.values, b.terminals, lastValue, gamma, lambda, b.advantages, b.returns);
  }
}
