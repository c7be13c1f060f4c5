package io.splitinfer.ue;

import io.grpc.Status;
import io.splitinfer.proto.v1.Token;
import io.splitinfer.proto.v1.Verified;
import java.util.Arrays;
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
  private final boolean sendAhead;
  private Ahead inFlight;
  private long rounds;
  private long roundsAhead;
  private long drafted;
  private long accepted;
  private long tokens;
  private long draftNanos;
  private long waitNanos;

  public SpecDecoder(Drafter drafter, SpecK k) {
    this(drafter, k, false);
  }

  /**
   * @param sendAhead send each next round ahead, on the guess that the current one accepts all its
   *     drafts (where the edge honours conditional rows and the caller allows it)
   */
  public SpecDecoder(Drafter drafter, SpecK k, boolean sendAhead) {
    this.drafter = drafter;
    this.k = k;
    this.sendAhead = sendAhead;
  }

  /**
   * A round sent ahead: its first position, draft count, guessed first token, bytes and last row
   * (layer p, for the guess after it).
   */
  private record Ahead(long first, int n, int ifToken, long bytes, float[] lastRow) {}

  /** The tokens one round produced and the bytes its uplink message took. */
  public record Round(List<Token> tokens, long bytes) {}

  /**
   * Acceptance so far: drafts accepted / drafted, tokens per round trip; where the rounds' time
   * went: drafting (the UE's layers over the k + 1 rows and the drafter's heads) and waiting (send,
   * the link both ways and the edge's verification).
   */
  public record Stats(
      long rounds,
      long drafted,
      long accepted,
      long tokens,
      long draftNanos,
      long waitNanos,
      long roundsAhead) {
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
    return new Stats(rounds, drafted, accepted, tokens, draftNanos, waitNanos, roundsAhead);
  }

  /**
   * Whether the round after the last one already went out (sent ahead, and the last round accepted
   * all its drafts with the guessed token): the caller then changes nothing before {@link #round}.
   */
  public boolean wentOut() {
    return inFlight != null;
  }

  /** A new session starts: a round sent ahead on another one is forgotten. */
  public void begin() {
    inFlight = null;
  }

  /**
   * One round after {@code last} (the last token received, not yet sent) at decode step {@code
   * step}, wanting at most {@code remaining} more tokens; when {@code aheadNext}, the next round
   * goes out ahead while this one is verified (nothing must happen between the two rounds: no
   * pilot, no split switch).
   */
  public Round round(UeSession s, int last, long step, int remaining, boolean aheadNext) {
    rounds++;
    long first;
    int n;
    long bytes;
    float[] lastRow;
    if (inFlight != null) {
      // this round went out ahead, while the previous one was verified
      first = inFlight.first();
      n = inFlight.n();
      bytes = inFlight.bytes();
      lastRow = inFlight.lastRow();
      inFlight = null;
      roundsAhead++;
    } else {
      n = drafts(s, remaining);
      if (n <= 0) {
        long b = s.send(new int[] {last}, null, true, step);
        tokens++;
        return new Round(List.of(s.nextToken()), b);
      }
      first = s.position();
      long t0 = System.nanoTime();
      Drafter.Draft d = drafter.draft(s, last, n, k.minChance());
      n = d.drafts().length;
      draftNanos += System.nanoTime() - t0;
      bytes = s.sendDraft(d.ids(), d.rows(), d.drafts(), step);
      lastRow = lastRow(s, d);
    }
    Ahead next = null;
    if (aheadNext && sendAhead && s.model().getConditionalRows()) {
      long t0 = System.nanoTime();
      next = ahead(s, lastRow, step + 1, remaining - (n + 1));
      draftNanos += System.nanoTime() - t0;
    }
    long t1 = System.nanoTime();
    Verified v = s.nextVerified();
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
    if (next != null
        && v.getTokensCount() == n + 1
        && v.getTokens(n).getId() == next.ifToken()
        && !v.getTokens(n).getEos()) {
      inFlight = next; // the edge runs the round sent ahead: the cache already holds its rows
    } else {
      s.rollback(first + v.getTokensCount());
    }
    drafted += n;
    accepted += v.getAccepted();
    tokens += v.getTokensCount();
    k.observe(n, v.getAccepted());
    return new Round(v.getTokensList(), bytes);
  }

  /**
   * Drafts for a round with {@code remaining} tokens wanted, within the edge's and context's room.
   */
  private int drafts(UeSession s, int remaining) {
    long room = s.model().getMaxPositions() - s.position() - 1;
    return (int)
        Math.min(
            Math.min(k.k(), s.model().getMaxDraftTokens()),
            Math.min(Math.min(s.maxChunk() - 1, remaining - 1), room));
  }

  /** The row (layer p) of a draft's last position. */
  private static float[] lastRow(UeSession s, Drafter.Draft d) {
    int dim = s.model().getHiddenSize();
    return Arrays.copyOfRange(d.rows(), d.rows().length - dim, d.rows().length);
  }

  /**
   * Sends the next round ahead, on the guess that the one just sent (its last row {@code lastRow})
   * accepts every draft: guesses the edge's token after them, drafts after that and sends the rows
   * conditionally (if_token). Null when there is no room for a round after this one, or a guess is
   * the end-of-sequence token.
   */
  private Ahead ahead(UeSession s, float[] lastRow, long step, int remaining) {
    int m = drafts(s, remaining);
    if (m <= 0) {
      return null;
    }
    int eos = s.model().getEosTokenId();
    int g = drafter.guess(s, lastRow);
    if (g == eos) {
      return null;
    }
    long first = s.position();
    Drafter.Draft d = drafter.draft(s, g, m, k.minChance());
    m = d.drafts().length;
    for (int id : d.drafts()) {
      if (id == eos) {
        s.rollback(first);
        return null;
      }
    }
    long bytes = s.sendDraft(d.ids(), d.rows(), d.drafts(), step, g);
    return new Ahead(first, m, g, bytes, lastRow(s, d));
  }
}
