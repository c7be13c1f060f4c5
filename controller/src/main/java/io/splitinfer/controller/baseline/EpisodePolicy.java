package io.splitinfer.controller.baseline;

import io.splitinfer.controller.env.SplitEnvironment;

/** A policy acting in the split environment (for evaluation against the baselines). */
public interface EpisodePolicy {
  /** Action index (0: −1, 1: keep, 2: +1) for observation {@code obs} of {@code env}. */
  int act(SplitEnvironment env, double[] obs);

  String name();
}
