package io.splitinfer.controller.ppo;

import io.splitinfer.controller.nn.Mlp;
import java.util.SplittableRandom;

/**
 * PPO's two networks: the policy π_θ(a|s) (actor: obs → 2 tanh layers → action logits) and the
 * value function V_φ(s) (critic: obs → 2 tanh layers → 1). Initialized orthogonally with gains √2
 * (hidden), 0.01 (actor output: a near-uniform initial policy) and 1 (critic output), as CleanRL
 * and SB3 do.
 */
public final class ActorCritic {
  private final Mlp actor;
  private final Mlp critic;

  public ActorCritic(Mlp actor, Mlp critic) {
    this.actor = actor;
    this.critic = critic;
  }

  public static ActorCritic create(int obsSize, int numActions, int hidden, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    Mlp actor =
        new Mlp(obsSize, hidden, hidden, numActions).initOrthogonal(rng, Math.sqrt(2), 0.01);
    Mlp critic = new Mlp(obsSize, hidden, hidden, 1).initOrthogonal(rng, Math.sqrt(2), 1.0);
    return new ActorCritic(actor, critic);
  }

  public Mlp actor() {
    return actor;
  }

  public Mlp critic() {
    return critic;
  }

  /** π(·|s) as probabilities. */
  public double[] probabilities(double[] obs) {
    return softmax(actor.predict(obs));
  }

  public double value(double[] obs) {
    return critic.predict(obs)[0];
  }

  /** The most probable action (deterministic evaluation). */
  public int greedyAction(double[] obs) {
    return argmax(actor.predict(obs));
  }

  /** Samples an action from π(·|s) with {@code rng}. */
  public int sampleAction(double[] probs, SplittableRandom rng) {
    double u = rng.nextDouble();
    double c = 0;
    for (int i = 0; i < probs.length; i++) {
      c += probs[i];
      if (u < c) {
        return i;
      }
    }
    return probs.length - 1;
  }

  public static double[] softmax(double[] logits) {
    double max = Double.NEGATIVE_INFINITY;
    for (double l : logits) {
      max = Math.max(max, l);
    }
    double[] p = new double[logits.length];
    double sum = 0;
    for (int i = 0; i < p.length; i++) {
      p[i] = Math.exp(logits[i] - max);
      sum += p[i];
    }
    for (int i = 0; i < p.length; i++) {
      p[i] /= sum;
    }
    return p;
  }

  public static int argmax(double[] x) {
    int best = 0;
    for (int i = 1; i < x.length; i++) {
      if (x[i] > x[best]) {
        best = i;
      }
    }
    return best;
  }

  public ActorCritic copy() {
    return new ActorCritic(actor.copy(), critic.copy());
  }
}
