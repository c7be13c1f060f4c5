package io.splitinfer.controller.baseline;

import io.splitinfer.controller.env.SplitEnvironment;
import io.splitinfer.controller.nn.Mlp;
import io.splitinfer.controller.ppo.ActorCritic;
import java.util.SplittableRandom;

/** The evaluation policies: trained/untrained actor, random, fixed split, Q-network. */
public final class Policies {
  private Policies() {}

  /** The actor's most probable action (deterministic, as SB3's evaluate_policy). */
  public static EpisodePolicy greedy(String name, ActorCritic agent) {
    return new EpisodePolicy() {
      @Override
      public int act(SplitEnvironment env, double[] obs) {
        return agent.greedyAction(obs);
      }

      @Override
      public String name() {
        return name;
      }
    };
  }

  /** Uniformly random actions, seeded. */
  public static EpisodePolicy random(long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    return new EpisodePolicy() {
      @Override
      public int act(SplitEnvironment env, double[] obs) {
        return rng.nextInt(SplitEnvironment.ACTIONS);
      }

      @Override
      public String name() {
        return "random";
      }
    };
  }

  /** Moves one layer per step toward a fixed split and stays there. */
  public static EpisodePolicy fixedSplit(int target) {
    return new EpisodePolicy() {
      @Override
      public int act(SplitEnvironment env, double[] obs) {
        return Integer.compare(target, env.split()) + 1;
      }

      @Override
      public String name() {
        return "fixed(p=" + target + ")";
      }
    };
  }

  /** Greedy in a Q-network's values (DQN). */
  public static EpisodePolicy greedyQ(String name, Mlp q) {
    return new EpisodePolicy() {
      @Override
      public int act(SplitEnvironment env, double[] obs) {
        return ActorCritic.argmax(q.predict(obs));
      }

      @Override
      public String name() {
        return name;
      }
    };
  }
}
