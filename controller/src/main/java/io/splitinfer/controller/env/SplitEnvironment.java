package io.splitinfer.controller.env;

import io.splitinfer.controller.reward.RewardSource;
import io.splitinfer.core.objective.Objective;
import java.util.SplittableRandom;

/**
 * The split-point MDP of eq. 8.
 *
 * <ul>
 *   <li>State s = {σ, σ_h, p}, observed normalized ({@link EnvConfig#observe}).
 *   <li>Actions {−1, 0, +1} as indices 0, 1, 2 ({@link #delta}); the split is clamped to [p_min,
 *       p_max] (a move past a bound keeps the split).
 *   <li>Reward r = −(PPL(p'; σ, σ_h) + λ·Ĉ_UE(p')) at the split p' after the action.
 *   <li>Episodes of {@link EnvConfig#episodeLength} steps (5). On reset the channel (σ, P_loss →
 *       σ_h via eq. 4) is drawn from the {@link ChannelCase} and held for the episode, and the
 *       initial split is drawn uniformly from the case's (mapped) initial range.
 *   <li>Privacy floor (optional, {@link #withPrivacyFloor}): no split below it is ever taken; an
 *       initial split or a move below it lands on the floor, as the live service does. The
 *       observation keeps the config's normalization, so a policy trained without the floor reads
 *       the same inputs.
 * </ul>
 *
 * All randomness comes from the seed given at construction.
 */
public final class SplitEnvironment implements Env {
  public static final int ACTIONS = 3;

  private final EnvConfig config;
  private final ChannelCase channelCase;
  private final RewardSource reward;
  private final Objective objective;
  private final SplittableRandom rng;
  private ChannelDraw channel;
  private int split;
  private int t;
  private double lastPpl = Double.NaN;
  private int privacyFloor;

  public SplitEnvironment(
      EnvConfig config,
      ChannelCase channelCase,
      RewardSource reward,
      Objective objective,
      long seed) {
    this.config = config;
    this.channelCase = channelCase;
    this.reward = reward;
    this.objective = objective;
    this.rng = new SplittableRandom(seed);
    this.privacyFloor = config.pMin();
  }

  /**
   * Sets the privacy floor (the smallest split allowed, see the class doc); returns this.
   *
   * @throws IllegalArgumentException when the floor is above p_max
   */
  public SplitEnvironment withPrivacyFloor(int floor) {
    if (floor > config.pMax()) {
      throw new IllegalArgumentException(
          "privacy floor " + floor + " is above p_max " + config.pMax());
    }
    this.privacyFloor = Math.max(config.pMin(), floor);
    return this;
  }

  public int privacyFloor() {
    return privacyFloor;
  }

  private int clamp(int p) {
    return Math.max(privacyFloor, config.clampSplit(p));
  }

  /** Split change of action index {@code action}: 0 → −1, 1 → 0, 2 → +1. */
  public static int delta(int action) {
    if (action < 0 || action >= ACTIONS) {
      throw new IllegalArgumentException("action " + action);
    }
    return action - 1;
  }

  /** A channel drawn from this environment's case (uses the environment's random source). */
  public ChannelDraw drawChannel() {
    double sigma = config.sigmaMin() + rng.nextDouble() * (config.sigmaMax() - config.sigmaMin());
    double loss =
        channelCase.lossMin() + rng.nextDouble() * (channelCase.lossMax() - channelCase.lossMin());
    return ChannelDraw.ofLoss(sigma, loss, config.hThreshold());
  }

  @Override
  public double[] reset() {
    ChannelDraw c = drawChannel();
    int[] init = channelCase.initialSplits(config.numLayers(), config.pMin(), config.pMax());
    int p = init[0] + rng.nextInt(init[1] - init[0] + 1);
    return reset(c, p);
  }

  /** Starts an episode on a given channel and split (for evaluation and tests). */
  public double[] reset(ChannelDraw c, int p) {
    this.channel = c;
    this.split = clamp(p);
    this.t = 0;
    this.lastPpl = Double.NaN;
    return observation();
  }

  @Override
  public Step step(int action) {
    if (channel == null) {
      throw new IllegalStateException("reset() first");
    }
    split = clamp(split + delta(action));
    double ppl = reward.ppl(channel.sigma(), channel.sigmaH(), split);
    lastPpl = ppl;
    double r = objective.reward(ppl, split);
    t++;
    return new Step(observation(), r, t >= config.episodeLength());
  }

  public double[] observation() {
    return config.observe(channel.sigma(), channel.sigmaH(), split);
  }

  /** The reward the environment would give at split {@code p} on the current channel. */
  public double rewardAt(int p) {
    return objective.reward(reward.ppl(channel.sigma(), channel.sigmaH(), p), p);
  }

  public ChannelDraw channel() {
    return channel;
  }

  public int split() {
    return split;
  }

  public int stepInEpisode() {
    return t;
  }

  public double lastPpl() {
    return lastPpl;
  }

  public EnvConfig config() {
    return config;
  }

  public ChannelCase channelCase() {
    return channelCase;
  }

  public Objective objective() {
    return objective;
  }

  public RewardSource rewardSource() {
    return reward;
  }

  @Override
  public int observationSize() {
    return 3;
  }

  @Override
  public int numActions() {
    return ACTIONS;
  }
}
