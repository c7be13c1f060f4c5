package io.splitinfer.controller.service;

import io.splitinfer.controller.env.EnvConfig;
import io.splitinfer.controller.env.SplitEnvironment;
import io.splitinfer.controller.ppo.ActorCritic;
import io.splitinfer.controller.ppo.PpoCheckpoint;
import io.splitinfer.controller.reward.SurrogateReward;
import io.splitinfer.core.objective.Objective;
import io.splitinfer.core.objective.UeCost;
import java.util.SplittableRandom;

/** The live policies: ppo, fixed, random, oracle. */
public final class Policies {
  private Policies() {}

  /**
   * The trained PPO actor, greedy: one ±1/0 move per decision, as in the MDP (eq. 8). The
   * observation is normalized with the checkpoint's environment; the result stays inside the split
   * range the policy was trained on ([p_min, p_max] of its environment, as in eq. 8) and inside the
   * UE's range.
   */
  public static SplitPolicy ppo(PpoCheckpoint cp, String source) {
    return ppo(cp, source, 1);
  }

  /**
   * The PPO actor rolled forward up to {@code maxMoves} steps of the MDP on one state: the greedy
   * action is applied to the split it leads to, again, until the actor says "stay", a split repeats
   * (a cycle: the rollout stops before it) or {@code maxMoves} moves were made. With a static
   * channel this is where {@code maxMoves} consecutive one-layer decisions would arrive, in one
   * decision (the actor's own choices, no thresholds added). {@code maxMoves} = 1 is the MDP's one
   * move per decision.
   */
  public static SplitPolicy ppo(PpoCheckpoint cp, String source, int maxMoves) {
    if (maxMoves < 1) {
      throw new IllegalArgumentException("maxMoves must be >= 1, got " + maxMoves);
    }
    ActorCritic agent = cp.agent();
    EnvConfig env = cp.env();
    return new SplitPolicy() {
      @Override
      public int propose(double sigma, double sigmaH, int current, int min, int max) {
        int p = clamp(env.clampSplit(current), min, max);
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        seen.add(p);
        for (int m = 0; m < maxMoves; m++) {
          int a = agent.greedyAction(env.observe(sigma, sigmaH, p));
          int next = clamp(env.clampSplit(p + SplitEnvironment.delta(a)), min, max);
          if (next == p || !seen.add(next)) {
            break;
          }
          p = next;
        }
        return p;
      }

      @Override
      public String name() {
        return "ppo";
      }

      @Override
      public String checkpoint() {
        return source;
      }

      @Override
      public String weightFormat() {
        return cp.weightFormat();
      }
    };
  }

  /** Always {@code split} (or the middle of the UE's range when split &lt; 0). */
  public static SplitPolicy fixed(int split) {
    return new SplitPolicy() {
      @Override
      public int propose(double sigma, double sigmaH, int current, int min, int max) {
        return split < 0 ? (min + max) / 2 : clamp(split, min, max);
      }

      @Override
      public String name() {
        return "fixed";
      }
    };
  }

  /** A uniformly random move of −1, 0 or +1 per decision, seeded. */
  public static SplitPolicy random(long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    return new SplitPolicy() {
      @Override
      public synchronized int propose(double sigma, double sigmaH, int current, int min, int max) {
        return clamp(current + rng.nextInt(3) - 1, min, max);
      }

      @Override
      public String name() {
        return "random";
      }
    };
  }

  /** Jumps to p* = argmin of eq. 7 with PPL from the surrogate. */
  public static SplitPolicy oracle(SurrogateReward surrogate, Objective objective, String source) {
    return new SplitPolicy() {
      @Override
      public int propose(double sigma, double sigmaH, int current, int min, int max) {
        int lo = Math.max(min, 0);
        int hi = Math.min(max, objective.cost().numLayers());
        return objective.argmin(p -> surrogate.ppl(sigma, sigmaH, p), lo, hi);
      }

      @Override
      public String name() {
        return "oracle";
      }

      @Override
      public String checkpoint() {
        return source;
      }

      @Override
      public String weightFormat() {
        return surrogate.weightFormat();
      }
    };
  }

  /** The objective a checkpoint was trained with (its UE weight format's cost included). */
  public static Objective objectiveOf(PpoCheckpoint cp) {
    return new Objective(
        new UeCost(cp.inputLength(), cp.hiddenSize(), cp.env().numLayers(), cp.weightFormat()),
        cp.lambda());
  }

  static int clamp(int v, int lo, int hi) {
    return Math.max(lo, Math.min(hi, v));
  }
}
