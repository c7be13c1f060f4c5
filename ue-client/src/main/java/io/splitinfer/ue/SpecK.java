package io.splitinfer.ue;

/**
 * How many tokens the UE drafts per speculative round (k). Fixed, or adaptive within [1, max]:
 * after a round whose drafts were all accepted k grows by one, after one whose first draft was
 * rejected it shrinks by one (a round costs about k + 1 UE steps and one round trip, and yields
 * accepted + 1 tokens). {@link #set} is the knob an outside decision-maker (e.g. the controller,
 * from the link's round trip) could turn between rounds. One generation at a time.
 */
public final class SpecK {
  private final int max;
  private final boolean adaptive;
  private int k;

  /**
   * @param k the starting (and, when not adaptive, the fixed) k; 0 = speculation off
   * @param adaptive move k within [1, k] by acceptance
   */
  public SpecK(int k, boolean adaptive) {
    if (k < 0) {
      throw new IllegalArgumentException("k must be >= 0, got " + k);
    }
    this.max = k;
    this.adaptive = adaptive;
    this.k = k;
  }

  /** The k of the next round (0 = do not speculate). */
  public int k() {
    return k;
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
