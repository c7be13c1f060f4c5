package io.splitinfer.controller.ppo;

import io.splitinfer.controller.env.Env;
import io.splitinfer.controller.nn.Adam;
import io.splitinfer.controller.nn.Mlp;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Proximal policy optimization (Schulman et al. 2017; eqs. 9–12), one readable loop in the style of
 * CleanRL's ppo.py:
 *
 * <ol>
 *   <li>collect {@code rolloutSteps} transitions with the current stochastic policy;
 *   <li>compute GAE advantages and returns ({@link Gae});
 *   <li>for {@code updateEpochs} passes, shuffle the rollout into minibatches and take one Adam
 *       step per minibatch on {@code L = L_clip + c_v·L_V − c_e·H}, the gradient norm clipped.
 * </ol>
 *
 * Every random draw (init, action sampling, shuffling) comes from {@link PpoConfig#seed()}, so a
 * run is reproducible given a deterministic environment.
 */
public final class PpoTrainer {
  private final PpoConfig config;
  private final ActorCritic agent;
  private final Adam actorOpt;
  private final Adam criticOpt;
  private final SplittableRandom rng;

  public PpoTrainer(PpoConfig config, int obsSize, int numActions) {
    this(config, ActorCritic.create(obsSize, numActions, config.hidden(), config.seed()));
  }

  public PpoTrainer(PpoConfig config, ActorCritic agent) {
    this.config = config;
    this.agent = agent;
    this.actorOpt =
        new Adam(agent.actor().params().length, config.learningRate(), 0.9, 0.999, 1e-5);
    this.criticOpt =
        new Adam(agent.critic().params().length, config.learningRate(), 0.9, 0.999, 1e-5);
    this.rng = new SplittableRandom(config.seed() ^ 0x5DEECE66DL);
  }

  public ActorCritic agent() {
    return agent;
  }

  /** Progress callback, once per update. */
  public interface Listener {
    void onUpdate(int update, int updates, int steps, UpdateStats stats);
  }

  /** Diagnostics of one update. */
  public record UpdateStats(
      double meanEpisodeReward,
      int episodes,
      double policyLoss,
      double valueLoss,
      double entropy,
      double approxKl,
      double clipFraction) {}

  /** One point of the training curve. */
  public record CurvePoint(int steps, double meanEpisodeReward, int episodes) {}

  /** Trains on {@code env} for {@link PpoConfig#totalSteps()}; returns the training curve. */
  public List<CurvePoint> train(Env env, Listener listener) {
    int n = config.rolloutSteps();
    int updates = config.totalSteps() / n;
    RolloutBuffer buf = new RolloutBuffer(n, env.observationSize());
    List<CurvePoint> curve = new ArrayList<>();
    double[] obs = env.reset();
    double episodeReturn = 0;
    int steps = 0;
    for (int update = 1; update <= updates; update++) {
      if (config.annealLr()) {
        double lr = (1.0 - (update - 1.0) / updates) * config.learningRate();
        actorOpt.setLearningRate(lr);
        criticOpt.setLearningRate(lr);
      }
      // 1. rollout
      buf.clear();
      double sumReturns = 0;
      int episodes = 0;
      while (!buf.full()) {
        double[] probs = agent.probabilities(obs);
        int action = agent.sampleAction(probs, rng);
        double value = agent.value(obs);
        Env.Step s = env.step(action);
        steps++;
        buf.add(obs, action, Math.log(probs[action]), value, s.reward(), s.done());
        episodeReturn += s.reward();
        if (s.done()) {
          sumReturns += episodeReturn;
          episodes++;
          episodeReturn = 0;
          obs = env.reset();
        } else {
          obs = s.observation();
        }
      }
      // 2. advantages
      Gae.compute(buf, agent.value(obs), config.gamma(), config.gaeLambda());
      // 3. optimize
      UpdateStats stats = optimize(buf, episodes == 0 ? Double.NaN : sumReturns / episodes);
      stats =
          new UpdateStats(
              episodes == 0 ? Double.NaN : sumReturns / episodes,
              episodes,
              stats.policyLoss(),
              stats.valueLoss(),
              stats.entropy(),
              stats.approxKl(),
              stats.clipFraction());
      curve.add(new CurvePoint(steps, stats.meanEpisodeReward(), episodes));
      if (listener != null) {
        listener.onUpdate(update, updates, steps, stats);
      }
    }
    return curve;
  }

  /** The PPO update on one filled rollout buffer. */
  UpdateStats optimize(RolloutBuffer buf, double meanEpisodeReward) {
    int n = buf.size();
    int mb = config.minibatchSize();
    int[] idx = new int[n];
    for (int i = 0; i < n; i++) {
      idx[i] = i;
    }
    Mlp actor = agent.actor();
    Mlp critic = agent.critic();
    double pgSum = 0;
    double vSum = 0;
    double entSum = 0;
    double klSum = 0;
    double clipped = 0;
    int count = 0;
    for (int epoch = 0; epoch < config.updateEpochs(); epoch++) {
      shuffle(idx);
      for (int start = 0; start + mb <= n; start += mb) {
        // advantage normalization over the minibatch
        double mean = 0;
        for (int k = start; k < start + mb; k++) {
          mean += buf.advantages[idx[k]];
        }
        mean /= mb;
        double var = 0;
        for (int k = start; k < start + mb; k++) {
          double d = buf.advantages[idx[k]] - mean;
          var += d * d;
        }
        double std = Math.sqrt(var / Math.max(1, mb - 1));
        actor.zeroGrad();
        critic.zeroGrad();
        for (int k = start; k < start + mb; k++) {
          int i = idx[k];
          double adv = buf.advantages[i];
          if (config.normalizeAdvantages()) {
            adv = (adv - mean) / (std + 1e-8);
          }
          // policy: clipped surrogate + entropy bonus
          Mlp.Activations fa = actor.forward(buf.obs[i]);
          double[] probs = ActorCritic.softmax(fa.output());
          int a = buf.actions[i];
          double newLogProb = Math.log(probs[a]);
          double logRatio = newLogProb - buf.logProbs[i];
          double ratio = Math.exp(logRatio);
          double entropy = 0;
          for (double p : probs) {
            entropy -= p > 0 ? p * Math.log(p) : 0;
          }
          pgSum += ClippedObjective.loss(ratio, adv, config.clipCoef());
          entSum += entropy;
          klSum += (ratio - 1) - logRatio;
          if (Math.abs(ratio - 1) > config.clipCoef()) {
            clipped++;
          }
          double dRatio = ClippedObjective.dLossDRatio(ratio, adv, config.clipCoef()) / mb;
          double[] dLogits = new double[probs.length];
          for (int j = 0; j < probs.length; j++) {
            double dLogProb = (j == a ? 1.0 : 0.0) - probs[j];
            // ∂ρ/∂logit = ρ·∂logπ/∂logit;  ∂(−c_e·H)/∂logit_j = c_e·π_j·(log π_j + H)
            double logP = probs[j] > 0 ? Math.log(probs[j]) : 0;
            dLogits[j] =
                dRatio * ratio * dLogProb + config.entCoef() * probs[j] * (logP + entropy) / mb;
          }
          actor.backward(fa, dLogits);
          // value: c_v · ½ (V − R)²
          Mlp.Activations fc = critic.forward(buf.obs[i]);
          double v = fc.output()[0];
          double err = v - buf.returns[i];
          vSum += 0.5 * err * err;
          critic.backward(fc, new double[] {config.vfCoef() * err / mb});
          count++;
        }
        // Clipped per network (SB3 clips actor and critic jointly): with rewards of large
        // magnitude (PPL in the hundreds or more) the critic's gradient would otherwise swallow
        // the whole norm budget and the policy would never move.
        Adam.clipGradNorm(config.maxGradNorm(), actor.grad());
        Adam.clipGradNorm(config.maxGradNorm(), critic.grad());
        actorOpt.step(actor.params(), actor.grad());
        criticOpt.step(critic.params(), critic.grad());
      }
    }
    return new UpdateStats(
        meanEpisodeReward,
        0,
        pgSum / count,
        vSum / count,
        entSum / count,
        klSum / count,
        clipped / count);
  }

  private void shuffle(int[] a) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}
