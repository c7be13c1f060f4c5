package io.splitinfer.ue;

/**
 * Pipelined decoding across the split, exact for any sampler: in a plain split step the UE waits
 * while the edge runs its layers, and the edge waits while the UE runs its own. Lookahead spends
 * the UE's wait on the next step. Right after sending token t's row, the UE guesses token t + 1
 * with its {@link Drafter#guess} (prompt lookup, n-gram table, early exit) and runs layers 1..p
 * over the guess at the next position ({@link UeSession#aheadRow}), while the edge computes t + 1.
 * When t + 1 arrives and equals the guess, its row is already computed and goes out at once ({@link
 * UeSession#sendRows}): that step's UE compute is off the critical path. When it differs, the
 * guessed position's KV is dropped ({@link UeSession#rollback}) and the step runs as usual.
 *
 * <p>When nothing else has to happen before the next step (no pilot due, no newer split decision,
 * not the last token), the guessed row goes out before its token is known, in one of two ways
 * ({@link UeSession#armRow}):
 *
 * <ul>
 *   <li><b>ahead</b> (the default, for an edge whose ModelInfo.conditional_rows is true): sent at
 *       once as a conditional row (HiddenState.if_token = the guess). The edge runs it the moment
 *       it has chosen t + 1, if t + 1 is the guess, and drops it otherwise; a right guess then
 *       costs the step neither the UE's compute nor a round trip. A wrong one costs the uplink one
 *       row more (the right row follows).
 *   <li><b>on token</b>: armed, and sent from the transport thread the moment a Token equal to the
 *       guess arrives, without handing the Token to the generating thread and waiting for it to
 *       send. No row is sent in vain; a right guess still waits one round trip.
 * </ul>
 *
 * <p>{@link #wentOut} tells which steps already went out; a split decision that arrives after the
 * row left is applied one step later. A guess of the end-of-sequence token is never sent ahead.
 *
 * <p>The row sent is always the row of the token the edge chose, computed at its position over the
 * same cache, so the tokens are the same as without lookahead, bit for bit; only when the UE's
 * compute happens changes. The edge sees ordinary decode steps. What it costs: the UE's layers over
 * every wrong guess (UE compute and energy, not time, while the edge's half is the longer one).
 *
 * <p>One instance per generation (its statistics span the sessions a failover takes): a guess is
 * for the session, split, epoch and position it was made at; {@link #begin} forgets it when a new
 * session starts, and {@link #discard} drops it before anything else moves the session (a split
 * switch).
 */
public final class Lookahead {
  private final Drafter drafter;
  private final boolean sendAhead;
  private int guessId = -1;
  private float[] guessRow;
  private long guessAt = -1;
  private int guessSplit = -1;
  private long guessEpoch = -1;
  private boolean fired;
  private long hits;
  private long misses;
  private long sentEarly;

  /**
   * @param sendAhead send a guessed row at once as a conditional row where the edge honours them
   *     (else, and when false: armed until its token arrives)
   */
  Lookahead(Drafter drafter, boolean sendAhead) {
    this.drafter = drafter;
    this.sendAhead = sendAhead;
  }

  /**
   * How the guesses went: steps whose row was ready, steps that had to compute it, and of the hits
   * those whose row had gone out before the generating thread took their token (sent ahead, or from
   * the transport thread on arrival).
   */
  public record Stats(long hits, long misses, long sentEarly) {
    public double hitRate() {
      return hits + misses == 0 ? 0 : (double) hits / (hits + misses);
    }
  }

  public Stats stats() {
    return new Stats(hits, misses, sentEarly);
  }

  /**
   * One decode step of token {@code id}: sends its row (the guessed row when {@code id} was the
   * guess, else computed now; nothing when it already went out on arrival, {@link #wentOut}), then,
   * when {@code another} step will follow, guesses the next token, computes its row and, when
   * {@code armNext}, sends it ahead or arms it. Returns the bytes the step's messages took (with a
   * row sent ahead in vain).
   */
  long step(UeSession s, int id, long step, boolean another, boolean armNext) {
    float[] row;
    long bytes;
    if (fired) {
      // the guessed row went out from the transport thread when the token arrived
      fired = false;
      row = guessRow;
      bytes = s.armedBytes();
      hits++;
      sentEarly++;
    } else {
      if (guessRow != null
          && guessId == id
          && guessAt == s.position()
          && guessSplit == s.split()
          && guessEpoch == s.epoch()) {
        row = guessRow;
        hits++;
      } else {
        if (guessRow != null) {
          misses++;
        }
        discard(s);
        row = s.draftRow(id);
      }
      bytes = s.sendRows(new int[] {id}, row, step) + s.takeWastedBytes();
    }
    guessRow = null;
    if (another && s.position() < s.model().getMaxPositions()) {
      guessId = drafter.guess(s, row);
      guessAt = s.position();
      guessSplit = s.split();
      guessEpoch = s.epoch();
      guessRow = s.aheadRow(guessId);
      if (armNext && guessId != s.model().getEosTokenId()) {
        s.armRow(guessId, guessRow, step + 1, sendAhead && s.model().getConditionalRows());
      }
    }
    return bytes;
  }

  /**
   * Whether the step of the token just taken already went out (the guess was sent ahead or armed,
   * and right): then the caller sends nothing else before {@link #step}.
   */
  boolean wentOut(UeSession s) {
    fired = s.armedWentOut();
    return fired;
  }

  /** A new session starts: a guess made on another one is forgotten (its KV went with it). */
  void begin() {
    guessRow = null;
    fired = false;
  }

  /** Drops a pending guess and its KV (before a split switch, or when it was wrong). */
  void discard(UeSession s) {
    if (guessRow != null && guessAt == s.position()) {
      s.rollback(guessAt);
    }
    guessRow = null;
  }
}
