package io.splitinfer.ue;

/**
 * Where a UE's split comes from: a fixed split, the controller's WatchSplit stream, or a script in
 * tests. Polled at every step boundary; a choice with a newer epoch than the session's is applied
 * there (SplitSwitch + KV transfer).
 */
@FunctionalInterface
public interface SplitSource {
  /**
   * A split decision: p, the epoch it was made under and the most draft tokens per speculative
   * round the controller allows ({@code specK}; -1 = no limit, 0 = do not speculate).
   */
  record Choice(int split, long epoch, int specK) {
    /** A decision that does not limit speculation. */
    public Choice(int split, long epoch) {
      this(split, epoch, -1);
    }
  }

  /** The decision in force before decode step {@code step} (0 = prefill). */
  Choice current(long step);

  static SplitSource fixed(int split) {
    Choice c = new Choice(split, 0);
    return step -> c;
  }
}
