package io.splitinfer.ue;

import io.grpc.Channel;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The edges a UE may use and how it gets back to one when a session dies: which failures are worth
 * a reconnect ({@link #retryable}), which edge the next attempt goes to (the same one first, then
 * the next in the list, round robin) and how long it waits first (exponential backoff with seeded
 * jitter, once per full round over the list). Bounded: at most {@link Policy#maxAttempts} attempts
 * per failure. What is rebuilt on the new edge is {@link SplitGenerator}'s business (it replays the
 * token history); this class only picks and paces. One generation at a time.
 */
public final class EdgeFailover {
  /**
   * How a UE reconnects.
   *
   * @param maxAttempts reconnect attempts per failure (0 = no failover: the first error ends the
   *     generation)
   * @param firstBackoff wait before the second round over the edge list
   * @param maxBackoff the longest wait between rounds
   * @param stallTimeout a stream with no message from the edge for this long is treated as dead
   *     (UNAVAILABLE); zero = wait forever
   * @param seed seeds the jitter (0..50% added to each wait) so UEs do not reconnect in lockstep
   */
  public record Policy(
      int maxAttempts,
      Duration firstBackoff,
      Duration maxBackoff,
      Duration stallTimeout,
      long seed) {
    public Policy {
      if (maxAttempts < 0) {
        throw new IllegalArgumentException("maxAttempts must be >= 0");
      }
      if (firstBackoff.isNegative() || maxBackoff.compareTo(firstBackoff) < 0) {
        throw new IllegalArgumentException("need 0 <= firstBackoff <= maxBackoff");
      }
      if (stallTimeout.isNegative()) {
        throw new IllegalArgumentException("stallTimeout must be >= 0");
      }
    }

    /** No reconnects, no stall timeout: the behaviour of a single fixed edge. */
    public static Policy none() {
      return new Policy(0, Duration.ZERO, Duration.ZERO, Duration.ZERO, 0);
    }

    /** 10 attempts, backoff 100 ms doubling to 2 s, streams silent for 30 s are dead. */
    public static Policy defaults(long seed) {
      return new Policy(
          10, Duration.ofMillis(100), Duration.ofSeconds(2), Duration.ofSeconds(30), seed);
    }

    public Policy withStallTimeout(Duration d) {
      return new Policy(maxAttempts, firstBackoff, maxBackoff, d, seed);
    }

    public Policy withMaxAttempts(int n) {
      return new Policy(n, firstBackoff, maxBackoff, stallTimeout, seed);
    }
  }

  private final List<? extends Channel> edges;
  private final Policy policy;
  private final SplittableRandom jitter;
  private int current;

  public EdgeFailover(List<? extends Channel> edges, Policy policy) {
    if (edges.isEmpty()) {
      throw new IllegalArgumentException("at least one edge");
    }
    this.edges = List.copyOf(edges);
    this.policy = policy;
    this.jitter = new SplittableRandom(policy.seed());
  }

  public Policy policy() {
    return policy;
  }

  /** The edge the next session opens on. */
  public Channel current() {
    return edges.get(current);
  }

  /** Index of {@link #current} in the list. */
  public int currentIndex() {
    return current;
  }

  public List<? extends Channel> edges() {
    return edges;
  }

  /**
   * Whether a session that ended with {@code s} may be resumed elsewhere: the edge or the link went
   * away (UNAVAILABLE, which is also what a stalled stream reports), the stream was aborted, or it
   * was reset from the other side (CANCELLED: a server that stops at once resets its streams with
   * RST_STREAM CANCEL; the UE's own cancels come from an interrupt, which {@link SplitGenerator}
   * never retries). Everything else (refusals with a specific status) is final.
   */
  public static boolean retryable(Status s) {
    return switch (s.getCode()) {
      case UNAVAILABLE, ABORTED, CANCELLED -> true;
      default -> false;
    };
  }

  /**
   * Prepares reconnect attempt {@code attempt} (1-based) after a failure: attempt 1 goes to the
   * same edge at once, later ones to the next edge in the list; each time the list has been gone
   * round once, it first waits the backoff. Returns false when the attempts are used up.
   */
  public boolean prepare(int attempt) throws InterruptedException {
    if (attempt > policy.maxAttempts()) {
      return false;
    }
    if (attempt > 1) {
      current = (current + 1) % edges.size();
    }
    int round = (attempt - 1) / edges.size();
    if (attempt > 1 && (attempt - 1) % edges.size() == 0) {
      long base =
          Math.min(
              policy.maxBackoff().toNanos(),
              policy.firstBackoff().toNanos() << Math.min(20, round - 1));
      long wait = base + (long) (base * 0.5 * jitter.nextDouble());
      Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
    }
    Channel c = current();
    if (c instanceof ManagedChannel m) {
      // A channel in TRANSIENT_FAILURE waits out its own reconnect backoff (1 s and growing)
      // before it tries again; the edge may be back already.
      m.resetConnectBackoff();
    }
    return true;
  }
}
