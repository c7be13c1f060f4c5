package io.splitinfer.ue;

import io.grpc.Status;
import io.splitinfer.proto.v1.Token;
import io.splitinfer.proto.v1.Verified;
import java.util.List;

/**
 * The UE's side of speculative decoding across the split, one round per call: the {@link Drafter}
 * proposes k tokens after the last token received (their rows run through the UE's layers on the
 * way), {@link UeSession#sendDraft} sends the k + 1 rows with the drafted ids in one HiddenState,
 * the edge answers one Verified (accepted prefix + its own token, proto {@code Verified}), and the
 * UE rolls its KV back to the positions whose inputs the edge kept. k is {@link SpecK}'s, capped by
 * the edge's max_draft_tokens, its chunk size, the context left and the tokens still wanted; a
 * round with k = 0 is a plain decode step. Counts rounds, drafts and acceptances for the benchmark.
 */
public final class SpecDecoder {
  private final Drafter drafter;
  private final SpecK k;
  private long rounds;
  private long drafted;
  private long accepted;
  private long tokens;
  private long draftNanos;
  private long waitNanos;

  public SpecDecoder(Drafter drafter, SpecK k) {
    this.drafter = drafter;
    this.k = k;
  }

  /** The tokens one round produced and the bytes its uplink message took. */
  public record Round(List<Token> tokens, long bytes) {}

  /**
   * Acceptance so far: drafts accepted / drafted, tokens per round trip; where the rounds' time
   * went: drafting (the UE's layers over the k + 1 rows and the drafter's heads) and waiting (send,
   * the link both ways and the edge's verification).
   */
  public record Stats(
      long rounds, long drafted, long accepted, long tokens, long draftNanos, long waitNanos) {
    public double acceptance() {
      return drafted == 0 ? 0 : (double) accepted / drafted;
    }

    public double tokensPerRound() {
      return rounds == 0 ? 0 : (double) tokens / rounds;
    }
  }

  public SpecK k() {
    return k;
  }

  public Stats stats() {
    return new Stats(rounds, drafted, accepted, tokens, draftNanos, waitNanos);
  }

  /**
   * One round after {@code last} (the last token received, not yet sent) at decode step {@code
   * step}, wanting at most {@code remaining} more tokens.
   */
  public Round round(UeSession s, int last, long step, int remaining) {
    long room = s.model().getMaxPositions() - s.position() - 1;
    int n =
        (int)
            Math.min(
                Math.min(k.k(), s.model().getMaxDraftTokens()),
                Math.min(Math.min(s.maxChunk() - 1, remaining - 1), room));
    rounds++;
    if (n <= 0) {
      long bytes = s.send(new int[] {last}, null, true, step);
      tokens++;
      return new Round(List.of(s.nextToken()), bytes);
    }
    long first = s.position();
    long t0 = System.nanoTime();
    Drafter.Draft d = drafter.draft(s, last, n);
    long t1 = System.nanoTime();
    long bytes = s.sendDraft(d.ids(), d.rows(), d.drafts(), step);
    Verified v = s.nextVerified();
    draftNanos += t1 - t0;
    waitNanos += System.nanoTime() - t1;
    if (v.getTokensCount() < 1
        || v.getTokensCount() > n + 1
        || v.getAccepted() < 0
        || v.getAccepted() > Math.min(n, v.getTokensCount())) {
      throw Status.INTERNAL
          .withDescription(
              "edge verified "
                  + v.getAccepted()
                  + " of "
                  + n
                  + " drafts with "
                  + v.getTokensCount()
                  + " tokens")
          .asRuntimeException();
    }
    s.rollback(first + v.getTokensCount());
    drafted += n;
    accepted += v.getAccepted();
    tokens += v.getTokensCount();
    k.observe(n, v.getAccepted());
    return new Round(v.getTokensList(), bytes);
  }
}
