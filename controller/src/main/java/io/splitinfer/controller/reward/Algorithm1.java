package io.splitinfer.controller.reward;

import io.splitinfer.controller.env.EnvConfig;
import io.splitinfer.controller.ppo.PpoTrainer;

/**
 * The paper's Algorithm 1 as a reward source: PPO trains on measured rewards (every measurement is
 * stored as a record) until {@code thresholdEpochs} training epochs (PPO updates) have passed; then
 * the surrogate is trained on the stored records (eq. 13) and rewards come from it from then on
 * (eq. 14).
 *
 * <p>Beyond the paper, where the ensemble's spread exceeds {@code maxStd} (PPL units) the surrogate
 * is not trusted and the reward is measured (and recorded) instead; {@code maxStd = ∞} is the
 * paper's behaviour.
 *
 * <p>Register it as the trainer's listener so it sees epochs ({@link #onUpdate}).
 */
public final class Algorithm1 implements RewardSource, PpoTrainer.Listener {
  private final MeasuredReward measured;
  private final EnvConfig env;
  private final SurrogateConfig surrogateConfig;
  private final int thresholdEpochs;
  private final double maxStd;
  private SurrogateReward surrogate;
  private int epochs;
  private long fallbacks;
  private long surrogateCalls;

  public Algorithm1(
      MeasuredReward measured,
      EnvConfig env,
      SurrogateConfig surrogateConfig,
      int thresholdEpochs,
      double maxStd) {
    this.measured = measured;
    this.env = env;
    this.surrogateConfig = surrogateConfig;
    this.thresholdEpochs = thresholdEpochs;
    this.maxStd = maxStd;
  }

  @Override
  public double ppl(double sigma, double sigmaH, int split) {
    if (surrogate == null) {
      return measured.ppl(sigma, sigmaH, split);
    }
    SurrogateReward.Prediction p = surrogate.predict(sigma, sigmaH, split);
    if (p.std() > maxStd) {
      fallbacks++;
      return measured.ppl(sigma, sigmaH, split);
    }
    surrogateCalls++;
    return p.ppl();
  }

  @Override
  public void onUpdate(int update, int updates, int steps, PpoTrainer.UpdateStats stats) {
    epochs++;
    if (surrogate == null && epochs >= thresholdEpochs) {
      String model = measured.pipeline().modelId();
      String format = measured.pipeline().weightFormat();
      surrogate =
          SurrogateReward.fit(measured.store().all(model, format), env, surrogateConfig, model)
              .withWeightFormat(format);
    }
  }

  public boolean usingSurrogate() {
    return surrogate != null;
  }

  public SurrogateReward surrogate() {
    return surrogate;
  }

  public long fallbacks() {
    return fallbacks;
  }

  public long surrogateCalls() {
    return surrogateCalls;
  }

  @Override
  public String name() {
    return surrogate == null ? "algorithm1/measured" : "algorithm1/surrogate";
  }
}
