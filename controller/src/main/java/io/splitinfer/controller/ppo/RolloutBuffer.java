package io.splitinfer.controller.ppo;

/**
 * One rollout of {@code n} transitions: observations, actions, their log-probabilities and value
 * estimates at collection time, rewards, and whether the episode ended after each step; {@link
 * Gae#compute} fills advantages and returns.
 */
public final class RolloutBuffer {
  final double[][] obs;
  final int[] actions;
  final double[] logProbs;
  final double[] values;
  final double[] rewards;
  final boolean[] terminals;
  final double[] advantages;
  final double[] returns;
  private int size;

  public RolloutBuffer(int n, int obsSize) {
    obs = new double[n][obsSize];
    actions = new int[n];
    logProbs = new double[n];
    values = new double[n];
    rewards = new double[n];
    terminals = new boolean[n];
    advantages = new double[n];
    returns = new double[n];
  }

  public void add(
      double[] o, int action, double logProb, double value, double reward, boolean terminal) {
    if (size == actions.length) {
      throw new IllegalStateException("buffer full");
    }
    System.arraycopy(o, 0, obs[size], 0, o.length);
    actions[size] = action;
    logProbs[size] = logProb;
    values[size] = value;
    rewards[size] = reward;
    terminals[size] = terminal;
    size++;
  }

  public int size() {
    return size;
  }

  public boolean full() {
    return size == actions.length;
  }

  public void clear() {
    size = 0;
  }

  public double[] advantages() {
    return advantages;
  }

  public double[] returns() {
    return returns;
  }
}
