package io.splitinfer.controller.baseline;

import io.splitinfer.controller.env.Env;
import io.splitinfer.controller.nn.Adam;
import io.splitinfer.controller.nn.Mlp;
import io.splitinfer.controller.ppo.ActorCritic;
import io.splitinfer.controller.ppo.PpoTrainer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * DQN (Mnih et al. 2015) baseline, SB3-style defaults scaled to this small problem: replay buffer,
 * ε-greedy exploration decaying linearly over the first 10% of steps to 0.05, a target network
 * synchronized every {@code targetUpdate} steps, Huber loss, Adam, gradient-norm clip 10.
 */
public final class DqnTrainer {
  /**
   * @param learningRate Adam step size
   * @param bufferSize replay capacity
   * @param learningStarts steps of pure exploration before learning
   * @param batchSize transitions per gradient step
   * @param trainFreq environment steps per gradient step
   * @param targetUpdate steps between target-network copies
   * @param gamma discount
   * @param hidden width of the two tanh hidden layers
   * @param totalSteps training steps
   * @param seed seed of every random source
   */
  public record Config(
      double learningRate,
      int bufferSize,
      int learningStarts,
      int batchSize,
      int trainFreq,
      int targetUpdate,
      double gamma,
      int hidden,
      int totalSteps,
      long seed) {
    public static Config defaults(int totalSteps, long seed) {
      return new Config(1e-3, 10_000, 1_000, 32, 4, 500, 0.99, 64, totalSteps, seed);
    }
  }

  private final Config cfg;
  private final Mlp q;
  private final Mlp target;
  private final Adam adam;
  private final SplittableRandom rng;

  public DqnTrainer(Config cfg, int obsSize, int numActions) {
    this.cfg = cfg;
    this.rng = new SplittableRandom(cfg.seed());
    this.q =
        new Mlp(obsSize, cfg.hidden(), cfg.hidden(), numActions)
            .initOrthogonal(rng, Math.sqrt(2), 1.0);
    this.target = q.copy();
    this.adam = new Adam(q.params().length, cfg.learningRate());
  }

  public Mlp qNetwork() {
    return q;
  }

  /** Trains; returns mean episode reward per {@code reportEvery} steps. */
  public List<PpoTrainer.CurvePoint> train(Env env, int reportEvery) {
    int cap = cfg.bufferSize();
    double[][] obs = new double[cap][];
    double[][] next = new double[cap][];
    int[] act = new int[cap];
    double[] rew = new double[cap];
    boolean[] done = new boolean[cap];
    int size = 0;
    int head = 0;
    List<PpoTrainer.CurvePoint> curve = new ArrayList<>();
    double[] o = env.reset();
    double epReturn = 0;
    double sumReturns = 0;
    int episodes = 0;
    for (int step = 1; step <= cfg.totalSteps(); step++) {
      double eps = Math.max(0.05, 1.0 - 0.95 * step / (0.1 * cfg.totalSteps()));
      int a =
          rng.nextDouble() < eps ? rng.nextInt(env.numActions()) : ActorCritic.argmax(q.predict(o));
      Env.Step s = env.step(a);
      obs[head] = o;
      next[head] = s.observation();
      act[head] = a;
      rew[head] = s.reward();
      done[head] = s.done();
      head = (head + 1) % cap;
      size = Math.min(size + 1, cap);
      epReturn += s.reward();
      if (s.done()) {
        sumReturns += epReturn;
        episodes++;
        epReturn = 0;
        o = env.reset();
      } else {
        o = s.observation();
      }
      if (step > cfg.learningStarts() && step % cfg.trainFreq() == 0) {
        q.zeroGrad();
        for (int b = 0; b < cfg.batchSize(); b++) {
          int i = rng.nextInt(size);
          double y = rew[i];
          if (!done[i]) {
            double[] tq = target.predict(next[i]);
            y += cfg.gamma() * tq[ActorCritic.argmax(tq)];
          }
          Mlp.Activations f = q.forward(obs[i]);
          double err = f.output()[act[i]] - y;
          double g = Math.max(-1, Math.min(1, err)) / cfg.batchSize(); // Huber
          double[] d = new double[env.numActions()];
          d[act[i]] = g;
          q.backward(f, d);
        }
        Adam.clipGradNorm(10.0, q.grad());
        adam.step(q.params(), q.grad());
      }
      if (step % cfg.targetUpdate() == 0) {
        target.copyFrom(q);
      }
      if (step % reportEvery == 0) {
        curve.add(
            new PpoTrainer.CurvePoint(
                step, episodes == 0 ? Double.NaN : sumReturns / episodes, episodes));
        sumReturns = 0;
        episodes = 0;
      }
    }
    return curve;
  }
}
