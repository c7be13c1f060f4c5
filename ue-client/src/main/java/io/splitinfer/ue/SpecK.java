package io.splitinfer.ue;

/**
 * How many tokens the UE drafts per speculative round (k). Fixed, or adaptive within [1, max]:
 * after a round whose drafts were all accepted k grows by one, after one whose first draft was
 * rejected it shrinks by one (a round costs about k + 1 UE steps and one round trip, and yields
 * accepted + 1 tokens). The controller may cap it ({@link #limit}, its decisions' spec_k, from the
 * edge's load); adaptation goes on below the cap. One generation at a time.
 */
public final class SpecK {
  private final int max;
  private final boolean adaptive;
  private final double minChance;
  private int k;
  private int cap = -1;

  /**
   * @param k the starting (and, when not adaptive, the fixed) k; 0 = speculation off
   * @param adaptive move k within [1, k] by acceptance
   */
  public SpecK(int k, boolean adaptive) {
    this(k, adaptive, 0);
  }

  /**
   * @param minChance a round drafts fewer than k tokens where the drafter estimates that the chance
   *     of all its drafts being accepted would fall below this ({@link Drafter#draft(UeSession,
   *     int, int, double)}); 0 = always k
   */
  public SpecK(int k, boolean adaptive, double minChance) {
    if (k < 0) {
      throw new IllegalArgumentException("k must be >= 0, got " + k);
    }
    if (!isChance(minChance)) {
      throw new IllegalArgumentException("the least chance must be in [0, 1), got " + minChance);
    }
    this.max = k;
    this.adaptive = adaptive;
    this.minChance = minChance;
    this.k = k;
  }

  /** Whether {@code p} is a least chance {@link #SpecK(int, boolean, double)} takes: [0, 1). */
  static boolean isChance(double p) {
    return p >= 0 && p < 1;
  }

  /** The least estimated chance of a round's drafts all being accepted (0 = draft k). */
  public double minChance() {
    return minChance;
  }

  /** The k of the next round (0 = do not speculate): the own k under the controller's cap. */
  public int k() {
    return cap < 0 ? k : Math.min(k, cap);
  }

  /** The controller's cap on k ({@code -1} = none, 0 = no speculation); the own k is kept. */
  public void limit(int cap) {
    this.cap = Math.max(-1, cap);
  }

  /** Sets k for the next rounds, within [0, the starting k]. */
  public void set(int next) {
    k = Math.max(0, Math.min(max, next));
  }

  /** Records a round's outcome ({@code accepted} of {@code drafted} drafts). */
  public void observe(int drafted, int accepted) {
    if (!adaptive || drafted == 0) {
      return;
    }
    if (accepted == drafted && drafted >= k) {
      k = Math.min(max, k + 1);
    } else if (accepted == 0) {
      k = Math.max(1, k - 1);
    }
  }
}
