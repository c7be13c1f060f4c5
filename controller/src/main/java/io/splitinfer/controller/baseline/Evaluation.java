package io.splitinfer.controller.baseline;

import io.splitinfer.controller.env.SplitEnvironment;
import java.util.function.LongFunction;

/**
 * Mean episode reward of a policy over {@code episodes} episodes. Every policy evaluated with the
 * same environment seed sees the same sequence of channels and initial splits.
 */
public final class Evaluation {
  private Evaluation() {}

  /** Result: mean and standard deviation of the (undiscounted) episode reward. */
  public record Result(String policy, int episodes, double mean, double std, double[] rewards) {}

  public static Result evaluate(
      EpisodePolicy policy, LongFunction<SplitEnvironment> envs, long envSeed, int episodes) {
    SplitEnvironment env = envs.apply(envSeed);
    double[] rewards = new double[episodes];
    double sum = 0;
    for (int e = 0; e < episodes; e++) {
      double[] obs = env.reset();
      double total = 0;
      boolean done = false;
      while (!done) {
        var s = env.step(policy.act(env, obs));
        total += s.reward();
        obs = s.observation();
        done = s.done();
      }
      rewards[e] = total;
      sum += total;
    }
    double mean = sum / episodes;
    double var = 0;
    for (double r : rewards) {
      var += (r - mean) * (r - mean);
    }
    return new Result(policy.name(), episodes, mean, Math.sqrt(var / episodes), rewards);
  }

  /**
   * The best static split for a case: the p minimizing the mean objective over {@code samples}
   * channels drawn from the environment (what a non-adaptive deployment would pick).
   */
  public static int bestFixedSplit(SplitEnvironment env, int samples) {
    int pMin = env.privacyFloor(); // = config p_min unless a privacy floor is set
    int pMax = env.config().pMax();
    double[] total = new double[pMax - pMin + 1];
    for (int s = 0; s < samples; s++) {
      env.reset();
      for (int p = pMin; p <= pMax; p++) {
        total[p - pMin] += env.rewardAt(p);
      }
    }
    int best = pMin;
    for (int p = pMin; p <= pMax; p++) {
      if (total[p - pMin] > total[best - pMin]) {
        best = p;
      }
    }
    return best;
  }
}
