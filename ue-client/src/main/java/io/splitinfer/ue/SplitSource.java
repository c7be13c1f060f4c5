package io.splitinfer.ue;

/**
 * Where a UE's split comes from: a fixed split, the controller's WatchSplit stream, or a script in
 * tests. Polled at every step boundary; a choice with a newer epoch than the session's is applied
 * there (SplitSwitch + KV transfer).
 */
@FunctionalInterface
public interface SplitSource {
  /** A split decision: p and the epoch it was made under. */
  record Choice(int split, long epoch) {}

  /** The decision in force before decode step {@code step} (0 = prefill). */
  Choice current(long step);

  static SplitSource fixed(int split) {
    Choice c = new Choice(split, 0);
    return step -> c;
  }
}
