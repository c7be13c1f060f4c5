package io.splitinfer.controller.ppo;

/**
 * PPO hyper-parameters. Defaults ({@link #defaults()}) are the paper's Table III where it gives a
 * value, and Stable-Baselines3's PPO defaults (which the paper's setup most likely used) otherwise.
 *
 * @param learningRate Adam step size α (Table III: 3e-4)
 * @param gamma discount factor γ (Table III: 0.99)
 * @param clipCoef clipping parameter ε of eq. 10 (Table III: 0.2)
 * @param rolloutSteps environment steps per update, n_step (Table III: 400)
 * @param minibatchSize samples per gradient step (Table III batch size: 100)
 * @param gaeLambda GAE parameter ξ of eq. 11 (Table III: 0.95)
 * @param updateEpochs passes over each rollout (SB3: 10)
 * @param entCoef entropy bonus coefficient (SB3: 0.0)
 * @param vfCoef value-loss coefficient (SB3: 0.5)
 * @param maxGradNorm gradient-norm clip, applied to actor and critic separately (SB3: 0.5, jointly)
 * @param normalizeAdvantages standardize advantages per minibatch (SB3: true)
 * @param annealLr decay the learning rate linearly to 0 over training (SB3: false)
 * @param hidden hidden layer width of the actor and critic (two tanh layers; SB3: 64)
 * @param totalSteps environment steps of a training run (the paper's Table IV: 24k)
 * @param seed seed of every random source of a run (network init, sampling, shuffling)
 */
public record PpoConfig(
    double learningRate,
    double gamma,
    double clipCoef,
    int rolloutSteps,
    int minibatchSize,
    double gaeLambda,
    int updateEpochs,
    double entCoef,
    double vfCoef,
    double maxGradNorm,
    boolean normalizeAdvantages,
    boolean annealLr,
    int hidden,
    int totalSteps,
    long seed) {
  public PpoConfig {
    if (rolloutSteps < 1 || minibatchSize < 1 || minibatchSize > rolloutSteps) {
      throw new IllegalArgumentException("need 1 <= minibatchSize <= rolloutSteps");
    }
    if (updateEpochs < 1 || hidden < 1 || totalSteps < rolloutSteps) {
      throw new IllegalArgumentException("need updateEpochs, hidden >= 1, totalSteps >= rollout");
    }
  }

  public static PpoConfig defaults() {
    return new PpoConfig(
        3e-4, 0.99, 0.2, 400, 100, 0.95, 10, 0.0, 0.5, 0.5, true, false, 64, 24_000, 1L);
  }

  public PpoConfig withTotalSteps(int steps) {
    return new PpoConfig(
        learningRate,
        gamma,
        clipCoef,
        rolloutSteps,
        minibatchSize,
        gaeLambda,
        updateEpochs,
        entCoef,
        vfCoef,
        maxGradNorm,
        normalizeAdvantages,
        annealLr,
        hidden,
        steps,
        seed);
  }

  public PpoConfig withSeed(long s) {
    return new PpoConfig(
        learningRate,
        gamma,
        clipCoef,
        rolloutSteps,
        minibatchSize,
        gaeLambda,
        updateEpochs,
        entCoef,
        vfCoef,
        maxGradNorm,
        normalizeAdvantages,
        annealLr,
        hidden,
        totalSteps,
        s);
  }

  /**
   * The same configuration with entropy bonus {@code c} and learning-rate annealing {@code anneal}.
   */
  public PpoConfig withExploration(double c, boolean anneal) {
    return new PpoConfig(
        learningRate,
        gamma,
        clipCoef,
        rolloutSteps,
        minibatchSize,
        gaeLambda,
        updateEpochs,
        c,
        vfCoef,
        maxGradNorm,
        normalizeAdvantages,
        anneal,
        hidden,
        totalSteps,
        seed);
  }

  public PpoConfig withLearningRate(double lr) {
    return new PpoConfig(
        lr,
        gamma,
        clipCoef,
        rolloutSteps,
        minibatchSize,
        gaeLambda,
        updateEpochs,
        entCoef,
        vfCoef,
        maxGradNorm,
        normalizeAdvantages,
        annealLr,
        hidden,
        totalSteps,
        seed);
  }

  /**
   * A2C as a special case of this loop (SB3's A2C defaults: 5-step rollouts, lr 7e-4, GAE λ 1, no
   * advantage normalization): one full-batch gradient step per rollout. At the first and only step
   * the probability ratio is 1, so the clipped objective's gradient is exactly the policy gradient
   * −Â·∇log π. (SB3 uses RMSprop; we keep Adam.)
   */
  public static PpoConfig a2c(int totalSteps, long seed) {
    return new PpoConfig(
        7e-4, 0.99, 0.2, 5, 5, 1.0, 1, 0.0, 0.5, 0.5, false, false, 64, totalSteps, seed);
  }
}
