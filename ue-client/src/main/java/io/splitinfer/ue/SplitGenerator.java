package io.splitinfer.ue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.ChannelEstimate;
import io.splitinfer.proto.v1.SessionDone;
import io.splitinfer.proto.v1.Token;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Autoregressive generation through the split: the UE embeds, runs layers 1..p with its own KV
 * cache and streams hidden states; the edge runs the rest, samples and streams tokens back. The
 * split follows a {@link SplitSource}; a newer decision is applied at the next step boundary by
 * {@link UeSession#follow}. This class is the generation loop (prefill in chunks, one token per
 * step, pilots, timings) and its resumption: when a session dies with a {@link
 * EdgeFailover#retryable} status, it opens a new one on the edge {@link EdgeFailover} picks and
 * replays the token history (prompt + every token received) through a fresh UE cache, which
 * rebuilds the new edge's KV of layers p+1..L; the last replayed chunk samples the next token, so
 * greedy output is the same as without the failure. With {@link #withSpeculation} each decode step
 * is a {@link SpecDecoder} round (k drafts verified in one round trip) instead of one token. The
 * protocol is {@link UeSession}'s. One generation at a time per instance.
 */
public final class SplitGenerator {
  private final EdgeFailover edges;
  private final UeModel model;
  private final PilotSource pilots;
  private SwitchCostModel switchCosts = new SwitchCostModel(SwitchCostModel.Config.auto());
  private SpecDecoder spec;
  private Lookahead lookahead;

  SplitGenerator(EdgeFailover edges, UeModel model, PilotSource pilots) {
    this.edges = edges;
    this.model = model;
    this.pilots = pilots;
  }

  /** Picks KV transfer or recompute at switches with {@code config} (default: by cost). */
  public SplitGenerator withSwitchCosts(SwitchCostModel.Config config) {
    this.switchCosts = new SwitchCostModel(config);
    return this;
  }

  /**
   * Decodes speculatively with {@code decoder} (null = one token per round trip): each decode step
   * becomes a {@link SpecDecoder} round; {@link GenerationResult#decodeSteps} then counts rounds.
   */
  public SplitGenerator withSpeculation(SpecDecoder decoder) {
    this.spec = decoder;
    return this;
  }

  /** Early-exit speculation with {@code k} (0 = off), adaptive within [1, k] when asked. */
  public SplitGenerator withSpeculation(int k, boolean adaptive) {
    return withSpeculation(k, adaptive, "early-exit");
  }

  /** Speculation with the {@link Drafter#named} drafter, {@code k} (0 = off), adaptive or not. */
  public SplitGenerator withSpeculation(int k, boolean adaptive, String drafter) {
    return withSpeculation(
        k == 0
            ? null
            : new SpecDecoder(Drafter.named(drafter, model.engine()), new SpecK(k, adaptive)));
  }

  /**
   * Pipelines plain decode steps with {@code drafter}'s guesses ({@link Lookahead}; null = off),
   * guessed rows sent ahead where the edge honours conditional rows. Speculation, when on, takes
   * precedence.
   */
  public SplitGenerator withLookahead(Drafter drafter) {
    return withLookahead(drafter, true);
  }

  /**
   * {@link #withLookahead(Drafter)}, with guessed rows sent ahead ({@code sendAhead}) or armed
   * until their token arrives.
   */
  public SplitGenerator withLookahead(Drafter drafter, boolean sendAhead) {
    this.lookahead = drafter == null ? null : new Lookahead(drafter, sendAhead);
    return this;
  }

  /** The lookahead in use (its hit statistics), or null. */
  public Lookahead lookahead() {
    return lookahead;
  }

  /** The speculative decoder in use, or null. */
  public SpecDecoder speculation() {
    return spec;
  }

  /** Generates with a fixed split. */
  public GenerationResult generate(GenerateRequest req, int split, Consumer<Token> onToken) {
    return generate(req, SplitSource.fixed(split), onToken);
  }

  /** Generates, applying the splits {@code splits} decides at step boundaries. */
  public GenerationResult generate(
      GenerateRequest req, SplitSource splits, Consumer<Token> onToken) {
    Progress run = new Progress(req, System.nanoTime());
    while (true) {
      try {
        return session(run, splits, onToken);
      } catch (StatusRuntimeException e) {
        if (!EdgeFailover.retryable(e.getStatus()) || Thread.currentThread().isInterrupted()) {
          throw e;
        }
        if (run.failedAt == 0) {
          run.failedAt = System.nanoTime();
          run.cause = e.getStatus().getCode() + ": " + e.getStatus().getDescription();
        }
        run.attempts++;
        boolean again;
        try {
          again = edges.prepare(run.attempts);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw Status.CANCELLED
              .withDescription("interrupted while reconnecting")
              .asRuntimeException();
        }
        if (!again) {
          throw e.getStatus()
              .augmentDescription("gave up after " + (run.attempts - 1) + " reconnect attempts")
              .asRuntimeException();
        }
      }
    }
  }

  /** One session: open, replay the history, then decode until the end or a failure. */
  private GenerationResult session(Progress run, SplitSource splits, Consumer<Token> onToken) {
    GenerateRequest req = run.req;
    SplitSource.Choice choice = splits.current(run.step);
    run.noteSplit(run.step, choice.split(), choice.epoch());
    int want = run.maxNew == 0 ? req.maxNewTokens() : run.maxNew - run.ids.size();
    SessionOptions options = SessionOptions.generate(req).withMaxNewTokens(want);
    SessionDone.Reason reason;
    int hiddenSize;
    try (UeSession s =
        UeSession.open(edges.current(), model, options, choice, edges.policy().stallTimeout())) {
      s.useSwitchCosts(switchCosts);
      try {
        reason = decode(s, run, splits, onToken);
        hiddenSize = s.model().getHiddenSize();
      } finally {
        // what this session sent and heard counts whether it finished or died
        run.bytesSent += s.bytesSent();
        run.estimates.addAll(s.estimates());
      }
    }
    return run.result(reason, hiddenSize);
  }

  /** Replays the history and decodes until the end; returns why the generation ended. */
  private SessionDone.Reason decode(
      UeSession s, Progress run, SplitSource splits, Consumer<Token> onToken) {
    GenerateRequest req = run.req;
    long maxPositions = s.model().getMaxPositions();
    int[] replay = run.history();
    if (replay.length > maxPositions) {
      // Checked before anything is computed: the edge would refuse the chunk that crosses it.
      throw Status.INVALID_ARGUMENT
          .withDescription(
              "prompt of "
                  + replay.length
                  + " tokens exceeds the edge's max_positions "
                  + maxPositions)
          .asRuntimeException();
    }
    run.maxNew =
        run.maxNew == 0
            ? s.maxNewTokens()
            : Math.min(run.maxNew, run.ids.size() + s.maxNewTokens());
    int chunk = s.maxChunk();
    // Prefill, or on a resumed session the whole history: chunks of at most max_chunk_tokens rows,
    // sampling from the last.
    for (int from = 0; from < replay.length; from += chunk) {
      int to = Math.min(replay.length, from + chunk);
      s.send(Arrays.copyOfRange(replay, from, to), null, to == replay.length, run.step);
    }
    ArrayDeque<Token> ready = new ArrayDeque<>();
    ready.add(s.nextToken());
    if (lookahead != null) {
      lookahead.begin();
    }
    if (spec != null) {
      spec.begin();
    }
    while (true) {
      Token tok = ready.poll();
      run.accept(tok, edges.currentIndex(), replay.length);
      onToken.accept(tok);
      SessionDone.Reason local = run.finished(tok, maxPositions);
      if (local != null) {
        SessionDone.Reason reason;
        try {
          reason = s.awaitDone().getReason();
        } catch (StatusRuntimeException e) {
          if (!EdgeFailover.retryable(e.getStatus())) {
            throw e;
          }
          reason = local; // every token arrived; only the edge's goodbye was lost
        }
        return reason;
      }
      if (!ready.isEmpty()) {
        continue; // the rest of a speculative round's tokens
      }
      run.step++;
      // sent ahead (or, with lookahead, when its token arrived), this step may have gone out
      boolean sent = spec != null ? spec.wentOut() : lookahead != null && lookahead.wentOut(s);
      SplitSource.Choice choice = splits.current(run.step);
      if (!sent) {
        if (lookahead != null && choice.epoch() > s.epoch()) {
          lookahead.discard(s); // a switch moves the cache
        }
        if (s.follow(choice)) {
          run.noteSplit(run.step, s.split(), s.epoch());
        }
      }
      if (spec != null) {
        spec.k().limit(choice.specK());
      }
      if (!sent && pilotDue(req, run.step)) {
        s.pilot(pilots.pilot(s.id(), run.pilotSeq++));
      }
      if (spec != null) {
        // the next round may go out ahead only if nothing must happen before it
        boolean aheadNext =
            !pilotDue(req, run.step + 1) && splits.current(run.step + 1).epoch() <= s.epoch();
        SpecDecoder.Round r =
            spec.round(s, tok.getId(), run.step, run.maxNew - run.ids.size(), aheadNext);
        run.decodeBytes += r.bytes();
        ready.addAll(r.tokens());
      } else if (lookahead != null) {
        boolean another = run.ids.size() + 1 < run.maxNew;
        // the next step may go out from the transport thread when its token arrives: only if
        // nothing else must happen before it (no pilot, no newer split, not the last token)
        boolean armNext =
            another
                && !pilotDue(req, run.step + 1)
                && splits.current(run.step + 1).epoch() <= s.epoch();
        run.decodeBytes += lookahead.step(s, tok.getId(), run.step, another, armNext);
        ready.add(s.nextToken());
      } else {
        run.decodeBytes += s.send(new int[] {tok.getId()}, null, true, run.step);
        ready.add(s.nextToken());
      }
      run.decodeSteps++;
    }
  }

  private boolean pilotDue(GenerateRequest req, long step) {
    return req.pilotEvery() > 0 && step % req.pilotEvery() == 0 && pilots != null;
  }

  /** What a generation has so far, across the sessions it took. */
  private static final class Progress {
    final GenerateRequest req;
    final long t0;
    final List<Integer> ids = new ArrayList<>();
    final List<Float> logprobs = new ArrayList<>();
    final StringBuilder text = new StringBuilder();
    final List<GenerationResult.SplitAt> splits = new ArrayList<>();
    final List<ChannelEstimate> estimates = new ArrayList<>();
    final List<GenerationResult.Recovery> recoveries = new ArrayList<>();
    int maxNew;
    long firstTokenAt;
    long bytesSent;
    long decodeBytes;
    long decodeSteps;
    long step;
    long pilotSeq;
    long failedAt;
    String cause;
    int attempts;

    Progress(GenerateRequest req, long t0) {
      this.req = req;
      this.t0 = t0;
    }

    /** The positions a new session must see: the prompt and every token received. */
    int[] history() {
      int[] p = req.promptIds();
      int[] h = Arrays.copyOf(p, p.length + ids.size());
      for (int i = 0; i < ids.size(); i++) {
        h[p.length + i] = ids.get(i);
      }
      return h;
    }

    void noteSplit(long at, int split, long epoch) {
      GenerationResult.SplitAt last = splits.isEmpty() ? null : splits.get(splits.size() - 1);
      if (last == null || last.split() != split || last.epoch() != epoch) {
        splits.add(new GenerationResult.SplitAt(at, split, epoch));
      }
    }

    void accept(Token tok, int edgeIndex, int replayed) {
      long now = System.nanoTime();
      if (ids.isEmpty()) {
        firstTokenAt = now;
      }
      if (failedAt != 0) {
        recoveries.add(
            new GenerationResult.Recovery(
                ids.size(), cause, attempts, edgeIndex, replayed, now - failedAt));
        failedAt = 0;
        attempts = 0;
        cause = null;
      }
      ids.add(tok.getId());
      logprobs.add(tok.getLogprob());
      text.append(tok.getText());
    }

    /** Why the generation ends after {@code tok}, or null when it goes on. */
    SessionDone.Reason finished(Token tok, long maxPositions) {
      if (tok.getEos() && req.stopAtEos()) {
        return SessionDone.Reason.REASON_EOS;
      }
      if (ids.size() >= maxNew) {
        return SessionDone.Reason.REASON_MAX_TOKENS;
      }
      if (tok.getPosition() >= maxPositions) {
        return SessionDone.Reason.REASON_CONTEXT_FULL;
      }
      return null;
    }

    GenerationResult result(SessionDone.Reason reason, int hiddenSize) {
      long end = System.nanoTime();
      float[] lp = new float[logprobs.size()];
      for (int i = 0; i < lp.length; i++) {
        lp[i] = logprobs.get(i);
      }
      return new GenerationResult(
          ids.stream().mapToInt(Integer::intValue).toArray(),
          text.toString(),
          lp,
          reason,
          List.copyOf(splits),
          firstTokenAt - t0,
          end - t0,
          end - firstTokenAt,
          bytesSent,
          decodeBytes,
          decodeSteps,
          (long) hiddenSize * TensorCodec.bytesPerElement(req.wireDtype()),
          List.copyOf(estimates),
          List.copyOf(recoveries));
    }
  }
}
