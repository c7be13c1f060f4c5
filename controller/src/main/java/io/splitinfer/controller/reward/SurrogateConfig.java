package io.splitinfer.controller.reward;

/**
 * Training settings of the reward surrogate PPL~(p; σ, σ_h) (eqs. 13–14).
 *
 * @param hidden width of the two tanh hidden layers
 * @param members ensemble size K (≥ 1); the spread across members is the uncertainty
 * @param epochs passes over the training records
 * @param batchSize records per Adam step
 * @param learningRate Adam step size
 * @param bootstrap train each member on a bootstrap resample (otherwise all on the same records)
 * @param seed seed of initialization, resampling and shuffling
 */
public record SurrogateConfig(
    int hidden,
    int members,
    int epochs,
    int batchSize,
    double learningRate,
    boolean bootstrap,
    long seed) {
  public SurrogateConfig {
    if (hidden < 1 || members < 1 || epochs < 1 || batchSize < 1 || !(learningRate > 0)) {
      throw new IllegalArgumentException("invalid surrogate config");
    }
  }

  public static SurrogateConfig defaults() {
    return new SurrogateConfig(32, 5, 300, 64, 3e-3, true, 1L);
  }

  public SurrogateConfig withEpochs(int e) {
    return new SurrogateConfig(hidden, members, e, batchSize, learningRate, bootstrap, seed);
  }

  public SurrogateConfig withMembers(int k) {
    return new SurrogateConfig(hidden, k, epochs, batchSize, learningRate, bootstrap, seed);
  }

  public SurrogateConfig withSeed(long s) {
    return new SurrogateConfig(hidden, members, epochs, batchSize, learningRate, bootstrap, s);
  }
}
