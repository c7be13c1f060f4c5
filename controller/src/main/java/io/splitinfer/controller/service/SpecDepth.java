package io.splitinfer.controller.service;

import io.splitinfer.proto.v1.EdgeLoad;

/**
 * The controller's speculation knob (issue 15): the most draft tokens per round, {@code spec_k}, a
 * UE may send to its edge. The UE picks its own k below it (fixed or adaptive, from the acceptance
 * it sees): that k serves the UE's latency, which only the UE measures. What only the controller
 * sees is the edge's load. A speculative round costs the edge {@code 1 + k * rowCost} single-step
 * units (the k draft rows verified with the UE's row in one pass; rowCost is the marginal cost of a
 * row, measured per engine in ue-client/README.md) and yields on average
 *
 * <pre>E(k) = (1 - a^(k+1)) / (1 - a)</pre>
 *
 * tokens when each draft is accepted with probability a, independently. While the edge has idle
 * capacity (its decode queue below {@code saturatedQueue}), extra rows cost other sessions nothing
 * and the advice is {@code maxK}. Once steps queue up, the edge's compute is what every session
 * shares, and the advice is the k that maximizes tokens per unit of edge compute, {@code E(k) / (1
 * + k rowCost)} ({@link #edgeOptimal}).
 *
 * @param maxK the largest k advised; 0 = the controller never sets spec_k (the default)
 * @param acceptance a, the per-draft acceptance rate (the n-gram drafter's measured 0.39–0.42)
 * @param rowCost marginal edge cost of one more verified row, in single-step units
 * @param saturatedQueue the edge's mean waiting decode steps from which it counts as saturated
 */
public record SpecDepth(int maxK, double acceptance, double rowCost, double saturatedQueue) {
  /** The controller does not set spec_k. */
  public static final SpecDepth OFF = new SpecDepth(0, 0.4, 0.1, 1.0);

  public SpecDepth {
    if (maxK < 0 || maxK > 32) {
      throw new IllegalArgumentException("spec k max must be in [0, 32], got " + maxK);
    }
    if (!(acceptance >= 0 && acceptance < 1)) {
      throw new IllegalArgumentException("spec acceptance must be in [0, 1), got " + acceptance);
    }
    if (!(rowCost >= 0) || Double.isInfinite(rowCost)) {
      throw new IllegalArgumentException("spec row cost must be finite and >= 0, got " + rowCost);
    }
    if (!(saturatedQueue > 0) || Double.isInfinite(saturatedQueue)) {
      throw new IllegalArgumentException(
          "spec saturated queue must be finite and > 0, got " + saturatedQueue);
    }
  }

  /** Whether the controller sets spec_k at all. */
  public boolean enabled() {
    return maxK > 0;
  }

  /** E(k): tokens a round of k drafts yields on average (i.i.d. acceptance a). */
  static double tokensPerRound(int k, double a) {
    return (1 - Math.pow(a, k + 1)) / (1 - a);
  }

  /** The k in [0, maxK] with the most tokens per unit of edge compute (the smallest on ties). */
  int edgeOptimal() {
    int best = 0;
    double bestRate = 1;
    for (int k = 1; k <= maxK; k++) {
      double rate = tokensPerRound(k, acceptance) / (1 + k * rowCost);
      if (rate > bestRate + 1e-12) {
        best = k;
        bestRate = rate;
      }
    }
    return best;
  }

  /**
   * The advice for a UE whose edge last reported {@code load} (null = no report, e.g. an edge
   * outside the pool): maxK unless the edge is saturated.
   */
  int advise(EdgeLoad load) {
    if (load == null || load.getDecodeQueue() < saturatedQueue) {
      return maxK;
    }
    return edgeOptimal();
  }
}
