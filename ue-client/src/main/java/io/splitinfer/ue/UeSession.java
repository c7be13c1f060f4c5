package io.splitinfer.ue;

import io.grpc.Channel;
import io.grpc.Status;
import io.splitinfer.core.trace.StepMark;
import io.splitinfer.core.trace.StepMark.Point;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.proto.KvBlocks;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.ChannelEstimate;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.Pilot;
import io.splitinfer.proto.v1.Scores;
import io.splitinfer.proto.v1.SessionAccepted;
import io.splitinfer.proto.v1.SessionClose;
import io.splitinfer.proto.v1.SessionDone;
import io.splitinfer.proto.v1.SessionOpen;
import io.splitinfer.proto.v1.Token;
import io.splitinfer.proto.v1.UeMessage;
import io.splitinfer.proto.v1.Verified;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * One Session stream seen from the UE, the one home of the data-plane protocol on this side: open
 * (the only SessionOpen builder), hidden states for GENERATE or SCORE, waiting for a Token, Scores
 * or Done, split switches with their KV moves in both directions (built by the session's {@link
 * UeSwitcher}; the export through {@link KvBlocks}), pilots and close. It owns the stream, the UE's
 * KV cache of layers 1..p, the split, epoch and next position, and the channel estimates that
 * arrive in between. Generation ({@link SplitGenerator}), scoring ({@link SplitScorer}, {@link
 * StepScorer}), eval-ppl and bench all go through it. It does not decide splits (a {@link
 * SplitSource} does) and does not sample (the edge does). One thread at a time.
 *
 * <p>Switches: {@link #follow} hands the move to its {@link UeSwitcher} (a {@link SwitchCostModel}
 * picks KV transfer or recompute per switch, logged). The UE does not wait for the edge's ack when
 * it need not: moving layers to the edge, and recomputing layers it gains, it goes on with the next
 * HiddenState at once (the edge handles its stream in order) and checks the ack when it arrives
 * ({@link #take}). For recompute the switcher keeps the token history and the hidden states at the
 * current split for every position (d floats each).
 */
public final class UeSession implements AutoCloseable {

  private final SessionStream stream;
  private final KvCache cache;
  private final InferenceEngine engine;
  private final String id;
  private final DType wire;
  private final List<ChannelEstimate> estimates = new ArrayList<>();
  private final SessionAccepted accepted;
  private final UeSwitcher switches;
  private int split;
  private long epoch;
  private long position;
  private int armedId;
  private float[] armedRow;
  private long armedBytes;
  private boolean armedAhead;
  private long wastedBytes;

  private UeSession(
      SessionStream stream, KvCache cache, UeModel model, SessionOptions o, SplitSource.Choice at) {
    this.stream = stream;
    this.cache = cache;
    this.engine = model.engine();
    this.id = UUID.randomUUID().toString();
    this.wire = o.wire();
    this.split = at.split();
    this.epoch = at.epoch();
    this.switches = new UeSwitcher(stream, cache, engine, id, split, this::maxChunk, this::take);
    stream.send(
        UeMessage.newBuilder()
            .setOpen(
                SessionOpen.newBuilder()
                    .setSessionId(id)
                    .setUeId(o.ueId())
                    .setModelId(model.modelId())
                    .setModelSha256(model.sha256())
                    .setMode(o.mode())
                    .setSampling(o.sampling())
                    .setMaxNewTokens(o.maxNewTokens())
                    .setSplit(split)
                    .setEpoch(epoch)
                    .setWireDtype(wire)
                    .setStopAtEos(o.stopAtEos()))
            .build());
    this.accepted = expect(EdgeMessage.KindCase.ACCEPTED).getAccepted();
  }

  /** Opens a session at split/epoch {@code at} and waits for SessionAccepted. */
  public static UeSession open(
      Channel channel, UeModel model, SessionOptions options, SplitSource.Choice at) {
    return open(channel, model, options, at, java.time.Duration.ZERO);
  }

  /**
   * As {@link #open(Channel, UeModel, SessionOptions, SplitSource.Choice)}; a wait for the edge
   * longer than {@code stall} (zero = no limit) cancels the stream and throws UNAVAILABLE.
   */
  public static UeSession open(
      Channel channel,
      UeModel model,
      SessionOptions options,
      SplitSource.Choice at,
      java.time.Duration stall) {
    SessionStream s = new SessionStream(channel, stall.toNanos());
    KvCache cache = null;
    try {
      cache = model.engine().newCache(1, at.split());
      return new UeSession(s, cache, model, options, at);
    } catch (RuntimeException e) {
      if (cache != null) {
        cache.close();
      }
      s.close();
      throw e;
    }
  }

  public String id() {
    return id;
  }

  /** The edge's model description from SessionAccepted. */
  public ModelInfo model() {
    return accepted.getModel();
  }

  /** Largest T per HiddenState the edge accepts. */
  public int maxChunk() {
    return Math.max(1, model().getMaxChunkTokens());
  }

  /** Tokens the edge will generate at most (after its clamp). */
  public int maxNewTokens() {
    return accepted.getMaxNewTokens();
  }

  public int split() {
    return split;
  }

  public long epoch() {
    return epoch;
  }

  /** The next position to send. */
  public long position() {
    return position;
  }

  /** Bytes sent on this stream so far (protobuf + 5-byte gRPC framing). */
  public long bytesSent() {
    return stream.bytesSent();
  }

  /** Uses {@code model} to pick KV transfer or recompute at switches (default: by cost). */
  public UeSession useSwitchCosts(SwitchCostModel model) {
    switches.useCosts(model);
    return this;
  }

  /** The cost estimate and method of the last switch that moved layers, or null. */
  public SwitchCostModel.Estimate lastSwitch() {
    return switches.lastSwitch();
  }

  /** Channel estimates the edge returned so far. */
  public List<ChannelEstimate> estimates() {
    return estimates;
  }

  /**
   * Embeds {@code ids} (at most {@link #maxChunk} of them), runs layers 1..p and sends them as one
   * HiddenState at the next position. {@code targets} (SCORE: one per id, -1 = not scored) or null.
   * Returns the bytes this message took on the wire.
   */
  public long send(int[] ids, int[] targets, boolean sample, long step) {
    float[] h = ownLayers(ids);
    HiddenState.Builder hb = hidden(ids, h, sample, step);
    if (targets != null) {
      for (int t : targets) {
        hb.addTargetIds(t);
      }
    }
    return sendHidden(hb, ids.length);
  }

  /**
   * Speculative decoding ({@link SpecDecoder}): runs layers 1..p over {@code id} at the next
   * position not yet sent (the cache advances; {@link #position} does not until {@link #sendDraft})
   * and returns its [1, d] row at layer p.
   */
  public float[] draftRow(int id) {
    return draftRows(new int[] {id});
  }

  /**
   * As {@link #draftRow} for several tokens at once ({@code ids.length} rows in one run of layers
   * 1..p); returns [ids.length, d].
   */
  public float[] draftRows(int[] ids) {
    return ownLayers(ids);
  }

  /**
   * {@link Lookahead}: as {@link #draftRow}, without the step marks of {@code hop-profile} (it runs
   * while the edge works on the previous token, off the step's path).
   */
  public float[] aheadRow(int id) {
    return ownLayers(new int[] {id}, false);
  }

  /** Embeds {@code ids} and runs layers 1..p over them at the cache's next positions (timed). */
  private float[] ownLayers(int[] ids) {
    return ownLayers(ids, true);
  }

  private float[] ownLayers(int[] ids, boolean marked) {
    boolean decode = marked && ids.length == 1;
    if (decode) {
      StepMark.at(Point.UE_COMPUTE_BEGIN);
    }
    long c0 = System.nanoTime();
    float[] h = engine.runLayers(1, split, engine.embed(ids), ids.length, cache);
    switches.costs().observeCompute(split, ids.length, System.nanoTime() - c0);
    if (decode) {
      StepMark.at(Point.UE_COMPUTE_END);
    }
    return h;
  }

  /**
   * Sends the rows {@link #draftRow} / {@link #draftRows} computed for {@code ids} (the last token
   * received, then the k drafts) as one speculative HiddenState with {@code draftIds} (proto
   * HiddenState.draft_ids). Returns the bytes it took on the wire.
   */
  public long sendDraft(int[] ids, float[] rows, int[] draftIds, long step) {
    return sendDraft(ids, rows, draftIds, step, -1);
  }

  /**
   * {@link #sendDraft(int[], float[], int[], long)}, sent ahead when {@code ifToken} >= 0: the edge
   * runs it only when the token it chose at the first row's position is {@code ifToken}
   * (HiddenState.if_token), and drops it otherwise.
   */
  public long sendDraft(int[] ids, float[] rows, int[] draftIds, long step, int ifToken) {
    HiddenState.Builder hb = hidden(ids, rows, true, step);
    for (int d : draftIds) {
      hb.addDraftIds(d);
    }
    if (ifToken >= 0) {
      hb.setIfToken(ifToken);
    }
    return sendHidden(hb, ids.length);
  }

  /**
   * Sends rows {@link #draftRow} / {@link #aheadRow} computed for {@code ids} as a plain
   * HiddenState that asks for a token (no drafts). Returns the bytes it took on the wire.
   */
  public long sendRows(int[] ids, float[] rows, long step) {
    return sendHidden(hidden(ids, rows, true, step), ids.length);
  }

  /**
   * Lookahead: the HiddenState of {@code id}'s row (at the next position, decode step {@code step})
   * goes out before the edge's next Token is known: {@code ahead}, now, as a conditional row
   * (if_token = id, which the edge runs only when its token is id); else armed, to go out from the
   * transport thread the moment that Token arrives and is {@code id}. {@link #armedWentOut} tells
   * after {@link #nextToken}. Neither happens when the Token is already here.
   */
  public void armRow(int id, float[] row, long step, boolean ahead) {
    HiddenState.Builder hb = hiddenAtNext(new int[] {id}, row, true, step);
    if (ahead) {
      hb.setIfToken(id);
    }
    UeMessage m = UeMessage.newBuilder().setHidden(hb).build();
    if (ahead ? stream.sendAhead(id, m) : stream.arm(id, m)) {
      armedId = id;
      armedRow = row;
      armedAhead = ahead;
      armedBytes = m.getSerializedSize() + SessionStream.GRPC_FRAME_HEADER;
    }
  }

  /** The bytes of a row sent ahead on a wrong guess since the last call (then 0). */
  public long takeWastedBytes() {
    long b = wastedBytes;
    wastedBytes = 0;
    return b;
  }

  /** The bytes the last armed or sent-ahead HiddenState took on the wire. */
  public long armedBytes() {
    return armedBytes;
  }

  /**
   * Whether the Token {@link #nextToken} returned last sent the armed row ({@link #armRow}); if so,
   * that row now counts as sent (position, history).
   */
  public boolean armedWentOut() {
    if (armedRow == null || !stream.lastFired()) {
      if (armedRow != null && armedAhead) {
        wastedBytes += armedBytes; // the edge dropped it
      }
      armedRow = null;
      return false;
    }
    switches.remember(position, split, new int[] {armedId}, armedRow);
    position += 1;
    armedRow = null;
    return true;
  }

  /**
   * Keeps {@code ids} and their rows {@code h} (layer p) and starts their HiddenState at the next
   * position: the part every HiddenState the UE sends has in common.
   */
  private HiddenState.Builder hidden(int[] ids, float[] h, boolean sample, long step) {
    switches.remember(position, split, ids, h);
    return hiddenAtNext(ids, h, sample, step);
  }

  /** The HiddenState of {@code ids}' rows {@code h} at the next position, not yet remembered. */
  private HiddenState.Builder hiddenAtNext(int[] ids, float[] h, boolean sample, long step) {
    return HiddenState.newBuilder()
        .setSessionId(id)
        .setEpoch(epoch)
        .setSplitLayer(split)
        .setFirstPosition(position)
        .setTensor(TensorCodec.encode(h, wire, ids.length, h.length / ids.length))
        .setSample(sample)
        .setStep(step);
  }

  /** Sends a HiddenState of {@code rows} positions; returns the bytes it took on the wire. */
  private long sendHidden(HiddenState.Builder hb, int rows) {
    long before = stream.bytesSent();
    UeMessage m = UeMessage.newBuilder().setHidden(hb).build();
    StepMark.at(Point.UE_SEND_BEGIN);
    stream.send(m);
    StepMark.at(Point.UE_SEND_END);
    position += rows;
    return stream.bytesSent() - before;
  }

  /** The token ids sent so far, positions [0, {@link #position}) (a drafter's context). */
  public int[] sentTokens() {
    return switches.sentTokens((int) position);
  }

  /** The edge's answer to a speculative HiddenState. */
  public Verified nextVerified() {
    return expect(EdgeMessage.KindCase.VERIFIED).getVerified();
  }

  /** Drops the UE's KV from position {@code length} on and sends from there next (a rollback). */
  public void rollback(long length) {
    cache.truncate((int) length);
    position = length;
  }

  /** Sends a pilot (the edge may answer with a ChannelEstimate, collected in between). */
  public void pilot(Pilot p) {
    stream.send(UeMessage.newBuilder().setPilot(p).build());
  }

  public Token nextToken() {
    Token t = expect(EdgeMessage.KindCase.TOKEN).getToken();
    StepMark.at(Point.UE_TAKEN);
    return t;
  }

  public Scores nextScores() {
    return expect(EdgeMessage.KindCase.SCORES).getScores();
  }

  /** Waits for SessionDone and the end of the stream the edge sends after it. */
  public SessionDone awaitDone() {
    SessionDone done = expect(EdgeMessage.KindCase.DONE).getDone();
    stream.take();
    return done;
  }

  /** Asks the edge to end the session, then waits for SessionDone and the end of the stream. */
  public SessionDone finish() {
    stream.send(
        UeMessage.newBuilder().setClose(SessionClose.newBuilder().setSessionId(id)).build());
    return awaitDone();
  }

  /**
   * Applies {@code next} if its epoch is newer than the session's ({@link UeSwitcher#apply}: the
   * SplitSwitch at the next position and the KV moves); returns whether it switched.
   */
  public boolean follow(SplitSource.Choice next) {
    if (next.epoch() <= epoch) {
      return false;
    }
    switches.apply(next, split, (int) position);
    split = next.split();
    epoch = next.epoch();
    return true;
  }

  /** Next message of {@code kind}, collecting channel estimates that arrive in between. */
  private EdgeMessage expect(EdgeMessage.KindCase kind) {
    EdgeMessage m = take(kind.toString());
    if (m.getKindCase() != kind) {
      throw Status.INTERNAL
          .withDescription("expected " + kind + " from the edge, got " + m.getKindCase())
          .asRuntimeException();
    }
    return m;
  }

  /**
   * Next message other than a ChannelEstimate (those are collected) or the ack of a switch the UE
   * did not wait for (checked here, in order).
   */
  private EdgeMessage take(String waitingFor) {
    while (true) {
      EdgeMessage m = stream.take();
      if (m == null) {
        // A stream that ends without SessionDone is a dead stream: resumable like UNAVAILABLE.
        throw Status.UNAVAILABLE
            .withDescription("edge ended the stream while the UE expected " + waitingFor)
            .asRuntimeException();
      }
      if (m.hasChannelEstimate()) {
        estimates.add(m.getChannelEstimate());
      } else if (m.hasSplitAck() && switches.ackPending()) {
        switches.checkPendingAck(m.getSplitAck());
      } else {
        return m;
      }
    }
  }

  /** Ends the stream (cancels it if it is still open) and frees the UE's cache. */
  @Override
  public void close() {
    try {
      stream.close();
    } finally {
      cache.close();
    }
  }
}
