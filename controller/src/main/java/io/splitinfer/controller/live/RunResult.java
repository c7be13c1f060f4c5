package io.splitinfer.controller.live;

import io.splitinfer.core.objective.Objective;
import java.util.Arrays;
import java.util.List;

/**
 * What one policy achieved on one (scenario, seed): PPL over every scored token (eq. 6), the
 * token-weighted mean of Ĉ_UE(p) over the steps, the achieved objective PPL + λ·mean Ĉ_UE (eq. 7 as
 * the run experienced it), the token-weighted mean split, the number of split changes, and the
 * stall time: for every step that carried a switch, its step time above the run's median non-switch
 * step time.
 */
public record RunResult(
    String scenario,
    long seed,
    String policy,
    int steps,
    long tokens,
    double ppl,
    double meanCost,
    double objective,
    double meanSplit,
    int switches,
    double stallMs,
    double wallS) {

  public static RunResult of(
      String scenario,
      long seed,
      String policy,
      List<StepLog.Step> steps,
      Objective objective,
      double wallS) {
    if (steps.isEmpty()) {
      throw new IllegalArgumentException(policy + ": no scored steps");
    }
    double nll = 0;
    double cost = 0;
    double split = 0;
    long tokens = 0;
    int switches = 0;
    for (int i = 0; i < steps.size(); i++) {
      StepLog.Step s = steps.get(i);
      nll -= s.logprob();
      cost += s.tokens() * objective.cost().normalized(s.split());
      split += (double) s.tokens() * s.split();
      tokens += s.tokens();
      if (i > 0 && s.split() != steps.get(i - 1).split()) {
        switches++;
      }
    }
    double ppl = Math.exp(nll / tokens);
    double meanCost = cost / tokens;
    double[] normal =
        steps.stream().filter(s -> !s.switched()).mapToDouble(StepLog.Step::stepMs).toArray();
    double median = median(normal);
    double stall = 0;
    for (StepLog.Step s : steps) {
      if (s.switched()) {
        stall += Math.max(0, s.stepMs() - median);
      }
    }
    return new RunResult(
        scenario,
        seed,
        policy,
        steps.size(),
        tokens,
        ppl,
        meanCost,
        ppl + objective.lambda() * meanCost,
        split / tokens,
        switches,
        stall,
        wallS);
  }

  static double median(double[] v) {
    if (v.length == 0) {
      return 0;
    }
    double[] s = v.clone();
    Arrays.sort(s);
    int n = s.length;
    return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
  }
}
