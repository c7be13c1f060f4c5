package io.splitinfer.edge;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.TensorFormatException;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.KvTransfer;
import io.splitinfer.proto.v1.Scores;
import io.splitinfer.proto.v1.SessionAccepted;
import io.splitinfer.proto.v1.SessionDone;
import io.splitinfer.proto.v1.SessionMode;
import io.splitinfer.proto.v1.SessionOpen;
import io.splitinfer.proto.v1.SplitSwitch;
import io.splitinfer.proto.v1.SplitSwitchAck;
import io.splitinfer.proto.v1.Tensor;
import io.splitinfer.proto.v1.Token;
import io.splitinfer.proto.v1.UeMessage;
import java.time.Duration;
import java.util.Arrays;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One UE session on the edge: validates every message, runs layers p+1..L (and the head) on each
 * HiddenState with the session's KV cache, samples or scores, and carries out split switches with
 * their KV transfers. Every refused input ends the stream with a specific status and is counted by
 * reason; the session's cache is freed however the session ends.
 */
final class EdgeSession implements StreamObserver<UeMessage> {
  private static final Logger log = LoggerFactory.getLogger(EdgeSession.class);

  private final SplitInferenceService service;
  private final ServerCallStreamObserver<EdgeMessage> out;
  private final ModelConfig mc;
  private final InferenceEngine engine;
  private final ReentrantLock lock = new ReentrantLock();
  private final long bytesPerLayerPosition;

  private volatile long lastActivity = System.nanoTime();
  private boolean ended;
  private boolean registered;
  private String id = "";
  private String ueId = "";
  private SessionMode mode;
  private Sampler sampler;
  private DType wireDtype;
  private int split;
  private long epoch;
  private int maxNewTokens;
  private boolean stopAtEos;
  private KvCache cache;
  private long nextPosition;
  private long generated;
  private long reservedKv;
  private PendingImport pending;

  /** Layers the edge is gaining from the UE after a SplitSwitch to a smaller split. */
  private static final class PendingImport {
    final long epoch;
    final long switchStartNanos;
    final int effectivePosition;
    final TreeMap<Integer, Integer> received = new TreeMap<>();

    PendingImport(long epoch, int fromLayer, int toLayer, int effectivePosition) {
      this.epoch = epoch;
      this.switchStartNanos = System.nanoTime();
      this.effectivePosition = effectivePosition;
      for (int l = fromLayer; l <= toLayer; l++) {
        received.put(l, 0);
      }
    }

    boolean complete() {
      return received.values().stream().allMatch(n -> n == effectivePosition);
    }
  }

  EdgeSession(SplitInferenceService service, ServerCallStreamObserver<EdgeMessage> out) {
    this.service = service;
    this.out = out;
    this.engine = service.engine();
    this.mc = engine.config();
    this.bytesPerLayerPosition = 2L * mc.numKvHeads() * mc.headDim() * Float.BYTES;
  }

  String id() {
    return id;
  }

  long lastActivityNanos() {
    return lastActivity;
  }

  @Override
  public void onNext(UeMessage msg) {
    lock.lock();
    try {
      if (ended) {
        return;
      }
      lastActivity = System.nanoTime();
      String parseError = LenientSessionMarshaller.parseError(msg);
      if (parseError != null) {
        throw SessionException.invalid("unparseable", "unparseable UeMessage: " + parseError);
      }
      if (msg.getSerializedSize() > service.maxMessageBytes()) {
        throw new SessionException(
            Status.Code.RESOURCE_EXHAUSTED,
            "message_too_large",
            "message of "
                + msg.getSerializedSize()
                + " bytes exceeds maximum "
                + service.maxMessageBytes());
      }
      if (cache == null) {
        if (!msg.hasOpen()) {
          throw SessionException.precondition(
              "not_open",
              "the first message of a session must be `open`, got " + msg.getKindCase());
        }
        open(msg.getOpen());
        return;
      }
      switch (msg.getKindCase()) {
        case OPEN ->
            throw SessionException.precondition(
                "duplicate_open", "session " + id + " is already open");
        case HIDDEN -> hidden(msg.getHidden());
        case SPLIT_SWITCH -> splitSwitch(msg.getSplitSwitch());
        case KV -> kvImport(msg.getKv());
        case PILOT -> pilot(msg.getPilot());
        case CLOSE -> {
          checkSession(msg.getClose().getSessionId());
          finish(SessionDone.Reason.REASON_CLOSED);
        }
        default ->
            throw SessionException.invalid(
                "empty_message", "UeMessage has no kind set (unknown or empty oneof)");
      }
    } catch (SessionException e) {
      service.metrics().rejected(e.reason());
      terminate(e.status(), "rejected");
    } catch (TensorFormatException e) {
      service.metrics().rejected("bad_tensor");
      terminate(Status.INVALID_ARGUMENT.withDescription(e.getMessage()), "rejected");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      terminate(Status.UNAVAILABLE.withDescription("edge interrupted"), "error");
    } catch (RuntimeException e) {
      log.error("session {} failed", id, e);
      service.metrics().rejected("internal");
      terminate(Status.INTERNAL.withDescription("edge error: " + e).withCause(e), "error");
    } finally {
      lock.unlock();
    }
  }

  @Override
  public void onError(Throwable t) {
    cancelled();
  }

  @Override
  public void onCompleted() {
    lock.lock();
    try {
      if (!ended) {
        if (cache == null) {
          terminate(Status.OK, "closed");
        } else {
          finish(SessionDone.Reason.REASON_CLOSED);
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /** The UE went away (or the call was cancelled): free everything, send nothing. */
  void cancelled() {
    lock.lock();
    try {
      if (!ended) {
        ended = true;
        release("cancelled");
      }
    } finally {
      lock.unlock();
    }
  }

  /** Idle TTL passed: end with DEADLINE_EXCEEDED unless a message is being processed. */
  void expire(Duration ttl) {
    if (!lock.tryLock()) {
      return;
    }
    try {
      if (!ended && System.nanoTime() - lastActivity > ttl.toNanos()) {
        service.metrics().rejected("idle_ttl");
        terminate(
            Status.DEADLINE_EXCEEDED.withDescription(
                "session " + id + " idle for more than " + ttl.toMillis() + " ms"),
            "expired");
      }
    } finally {
      lock.unlock();
    }
  }

  /** Ends the stream with {@code status} (OK completes it) and frees the session. */
  void terminate(Status status, String how) {
    lock.lock();
    try {
      if (ended) {
        return;
      }
      ended = true;
      // Free first, so a UE that sees the end can rely on the session being gone.
      release(how);
      try {
        if (status.isOk()) {
          out.onCompleted();
        } else {
          out.onError(status.asRuntimeException());
        }
      } catch (RuntimeException e) {
        log.debug("session {}: could not send {}: {}", id, status.getCode(), e.toString());
      }
    } finally {
      lock.unlock();
    }
  }

  private void release(String how) {
    if (registered) {
      service.unregister(this);
      registered = false;
    }
    if (cache != null) {
      cache.close();
    }
    if (reservedKv != 0) {
      service.reserveKv(-reservedKv);
      reservedKv = 0;
    }
    service.pilotHandler().sessionEnded(id);
    service.metrics().sessionEnded(how);
  }

  private void finish(SessionDone.Reason reason) {
    send(
        EdgeMessage.newBuilder()
            .setDone(
                SessionDone.newBuilder().setSessionId(id).setReason(reason).setTokens(generated))
            .build());
    terminate(Status.OK, "done");
  }

  private void send(EdgeMessage m) {
    out.onNext(m);
  }

  private void checkSession(String sid) {
    if (!id.equals(sid)) {
      throw new SessionException(
          Status.Code.NOT_FOUND,
          "unknown_session",
          "unknown session '" + sid + "' (this stream carries session '" + id + "')");
    }
  }

  // ---------------------------------------------------------------- open

  private void open(SessionOpen o) {
    ModelInfoCheck.check(service.modelInfo(), o);
    if (o.getSessionId().isEmpty()) {
      throw SessionException.invalid("bad_field", "session_id must not be empty");
    }
    if (o.getMode() != SessionMode.SESSION_MODE_GENERATE
        && o.getMode() != SessionMode.SESSION_MODE_SCORE) {
      throw SessionException.invalid(
          "bad_field", "mode must be GENERATE or SCORE, got " + o.getMode());
    }
    if (o.getSplit() < service.config().minSplit() || o.getSplit() > service.maxSplit()) {
      throw SessionException.invalid(
          "split_out_of_range",
          "split "
              + o.getSplit()
              + " is out of range ["
              + service.config().minSplit()
              + ", "
              + service.maxSplit()
              + "]");
    }
    switch (o.getWireDtype()) {
      case DTYPE_F32, DTYPE_F16, DTYPE_BF16, DTYPE_INT8 -> {}
      default ->
          throw SessionException.invalid(
              "bad_dtype", "wire_dtype must be F32, F16, BF16 or INT8, got " + o.getWireDtype());
    }
    if (o.getMaxNewTokens() < 0) {
      throw SessionException.invalid("bad_field", "max_new_tokens must be >= 0");
    }
    try {
      sampler = new Sampler(Sampler.Params.of(o.getSampling()));
    } catch (IllegalArgumentException e) {
      throw SessionException.invalid("bad_sampling", e.getMessage());
    }
    id = o.getSessionId();
    SplitInferenceService.Registration r = service.register(this);
    if (r != SplitInferenceService.Registration.OK) {
      String wanted = id;
      id = "";
      if (r == SplitInferenceService.Registration.FULL) {
        throw new SessionException(
            Status.Code.RESOURCE_EXHAUSTED,
            "max_sessions",
            "edge is at its session limit (" + service.config().maxSessions() + ")");
      }
      throw new SessionException(
          Status.Code.ALREADY_EXISTS,
          "duplicate_session",
          "session '" + wanted + "' is already live");
    }
    registered = true;
    ueId = o.getUeId();
    mode = o.getMode();
    wireDtype = o.getWireDtype();
    split = o.getSplit();
    epoch = o.getEpoch();
    stopAtEos = o.getStopAtEos();
    int cap = service.config().maxNewTokens();
    maxNewTokens = o.getMaxNewTokens() == 0 ? cap : Math.min(o.getMaxNewTokens(), cap);
    cache = engine.newCache(split + 1, mc.numLayers());
    service.metrics().sessionOpened();
    send(
        EdgeMessage.newBuilder()
            .setAccepted(
                SessionAccepted.newBuilder()
                    .setSessionId(id)
                    .setModel(service.modelInfo())
                    .setSplit(split)
                    .setEpoch(epoch)
                    .setMaxNewTokens(maxNewTokens))
            .build());
  }

  // ---------------------------------------------------------------- hidden states

  private void checkEpoch(long e) {
    if (e < epoch) {
      throw SessionException.precondition(
          "stale_epoch", "stale epoch " + e + ": the session is at epoch " + epoch);
    }
    if (e > epoch) {
      throw SessionException.invalid(
          "future_epoch",
          "epoch " + e + " was never announced by a SplitSwitch (session is at " + epoch + ")");
    }
  }

  private void hidden(HiddenState h) throws InterruptedException {
    checkSession(h.getSessionId());
    service.pilotHandler().onHidden(id, ueId, h); // loss evidence for the channel estimate
    checkEpoch(h.getEpoch());
    if (pending != null) {
      throw SessionException.precondition(
          "kv_incomplete",
          "HiddenState before the KV transfer of layers "
              + pending.received.firstKey()
              + ".."
              + pending.received.lastKey()
              + " for split switch epoch "
              + pending.epoch
              + " completed");
    }
    if (h.getSplitLayer() != split) {
      throw SessionException.invalid(
          "wrong_split",
          "split_layer " + h.getSplitLayer() + " but the session's split is " + split);
    }
    if (h.getFirstPosition() != nextPosition) {
      throw SessionException.invalid(
          "wrong_position",
          "first_position "
              + h.getFirstPosition()
              + " but the next expected position is "
              + nextPosition);
    }
    Tensor t = h.getTensor();
    if (t.getDtype() != wireDtype) {
      throw SessionException.invalid(
          "wrong_dtype",
          "tensor dtype " + t.getDtype() + " but the session's wire dtype is " + wireDtype);
    }
    long[] shape;
    try {
      shape = TensorCodec.shape(t);
    } catch (TensorFormatException e) {
      throw SessionException.invalid("wrong_shape", e.getMessage());
    }
    int maxChunk = service.config().maxChunkTokens();
    if (shape.length != 2 || shape[1] != mc.hiddenSize() || shape[0] < 1 || shape[0] > maxChunk) {
      throw SessionException.invalid(
          "wrong_shape",
          "hidden state shape "
              + Arrays.toString(shape)
              + " must be [T, "
              + mc.hiddenSize()
              + "] with 1 <= T <= "
              + maxChunk);
    }
    int tokens = (int) shape[0];
    if (nextPosition + tokens > mc.maxPositions()) {
      throw SessionException.invalid(
          "too_long",
          "positions up to "
              + (nextPosition + tokens)
              + " exceed max_positions "
              + mc.maxPositions());
    }
    float[] x;
    try {
      x = TensorCodec.decode(t);
    } catch (TensorFormatException e) {
      throw SessionException.invalid("bad_tensor", e.getMessage());
    }
    int bad = TensorCodec.firstNonFinite(x);
    if (bad >= 0) {
      throw SessionException.invalid(
          "non_finite",
          "hidden state has a non-finite value ("
              + x[bad]
              + ") at row "
              + bad / mc.hiddenSize()
              + ", column "
              + bad % mc.hiddenSize());
    }
    if (mode == SessionMode.SESSION_MODE_SCORE) {
      if (h.getTargetIdsCount() != tokens) {
        throw SessionException.invalid(
            "bad_targets",
            "SCORE mode needs " + tokens + " target_ids, got " + h.getTargetIdsCount());
      }
      for (int id : h.getTargetIdsList()) {
        if (id < -1 || id >= mc.vocabSize()) {
          throw SessionException.invalid(
              "bad_targets", "target id " + id + " outside [-1, " + mc.vocabSize() + ")");
        }
      }
    }
    reserveFor(nextPosition + tokens, mc.numLayers() - split);
    service.metrics().hiddenBytes(t.getData().size());

    long t0 = System.nanoTime();
    int from = split + 1;
    int to = mc.numLayers();
    float[] y;
    DecodeBatcher batcher = service.batcher();
    if (tokens == 1 && batcher != null && from <= to) {
      y = batcher.run(from, to, x, cache);
    } else {
      y = engine.runLayers(from, to, x, tokens, cache);
    }
    long position = nextPosition;
    nextPosition += tokens;
    int d = mc.hiddenSize();
    int vocab = mc.vocabSize();
    if (mode == SessionMode.SESSION_MODE_SCORE) {
      float[] logits = engine.head(y, tokens);
      Scores.Builder sb = Scores.newBuilder().setFirstPosition(position).setEpoch(epoch);
      int scored = 0;
      for (int r = 0; r < tokens; r++) {
        int target = h.getTargetIds(r);
        if (target < 0) {
          sb.addTargetLogprobs(Float.NaN);
        } else {
          sb.addTargetLogprobs((float) Sampler.logProb(logits, r * vocab, vocab, target));
          scored++;
        }
      }
      service.metrics().step(tokens == 1, System.nanoTime() - t0);
      service.metrics().scored(scored);
      send(EdgeMessage.newBuilder().setScores(sb).build());
      return;
    }
    if (!h.getSample()) {
      service.metrics().step(false, System.nanoTime() - t0);
      return;
    }
    float[] last = y.length == d ? y : Arrays.copyOfRange(y, (tokens - 1) * d, tokens * d);
    float[] logits = engine.head(last, 1);
    Sampler.Sample s = sampler.sample(logits, 0, vocab);
    service.metrics().step(tokens == 1, System.nanoTime() - t0);
    generated++;
    service.metrics().token();
    boolean eos = s.id() == mc.eosTokenId();
    send(
        EdgeMessage.newBuilder()
            .setToken(
                Token.newBuilder()
                    .setId(s.id())
                    .setText(service.model().tokenText().apply(s.id()))
                    .setLogprob(s.logprob())
                    .setPosition(nextPosition)
                    .setEpoch(epoch)
                    .setStep(h.getStep())
                    .setEos(eos))
            .build());
    if (eos && stopAtEos) {
      finish(SessionDone.Reason.REASON_EOS);
    } else if (generated >= maxNewTokens || nextPosition >= mc.maxPositions()) {
      finish(SessionDone.Reason.REASON_MAX_TOKENS);
    }
  }

  /** Reserves KV bytes for {@code positions} positions of {@code layers} edge layers. */
  private void reserveFor(long positions, int layers) {
    long want = positions * layers * bytesPerLayerPosition;
    long delta = want - reservedKv;
    if (delta > 0 && !service.reserveKv(delta)) {
      throw new SessionException(
          Status.Code.RESOURCE_EXHAUSTED,
          "kv_budget",
          "KV budget of "
              + service.config().kvBudgetBytes()
              + " bytes exhausted (session "
              + id
              + " needs "
              + want
              + ")");
    }
    if (delta < 0) {
      service.reserveKv(delta);
    }
    reservedKv = want;
  }

  // ---------------------------------------------------------------- split switching

  private void splitSwitch(SplitSwitch sw) {
    checkSession(sw.getSessionId());
    if (sw.getEpoch() <= epoch) {
      throw SessionException.precondition(
          "stale_epoch",
          "stale epoch " + sw.getEpoch() + " in SplitSwitch: the session is at epoch " + epoch);
    }
    if (pending != null) {
      throw SessionException.precondition(
          "kv_incomplete", "SplitSwitch before the previous switch's KV transfer completed");
    }
    int newSplit = sw.getNewSplit();
    if (newSplit < service.config().minSplit() || newSplit > service.maxSplit()) {
      throw SessionException.invalid(
          "split_out_of_range",
          "split "
              + newSplit
              + " is out of range ["
              + service.config().minSplit()
              + ", "
              + service.maxSplit()
              + "]");
    }
    if (sw.getEffectivePosition() != nextPosition) {
      throw SessionException.invalid(
          "wrong_position",
          "effective_position "
              + sw.getEffectivePosition()
              + " but the next expected position is "
              + nextPosition
              + " (switch only at a step boundary)");
    }
    long t0 = System.nanoTime();
    int oldSplit = split;
    int length = (int) nextPosition;
    int layers = mc.numLayers();
    if (newSplit < oldSplit) {
      // The edge gains layers newSplit+1..oldSplit: the UE follows with their KV.
      reserveFor(nextPosition, layers - newSplit);
      cache.setLayerRange(newSplit + 1, layers);
      epoch = sw.getEpoch();
      split = newSplit;
      if (length == 0) {
        ack(t0);
      } else {
        pending = new PendingImport(epoch, newSplit + 1, oldSplit, length);
        pendingStart = t0;
      }
      return;
    }
    if (newSplit > oldSplit) {
      // The UE gains layers oldSplit+1..newSplit: send their KV back, then drop them here.
      int chunk = Math.max(1, service.config().maxChunkTokens());
      for (int layer = oldSplit + 1; layer <= newSplit; layer++) {
        for (int from = 0; from < length; from += chunk) {
          int to = Math.min(length, from + chunk);
          long[] shape = {mc.numKvHeads(), to - from, mc.headDim()};
          send(
              EdgeMessage.newBuilder()
                  .setKv(
                      KvTransfer.newBuilder()
                          .setSessionId(id)
                          .setEpoch(sw.getEpoch())
                          .setLayer(layer)
                          .setFirstPosition(from)
                          .setKey(
                              TensorCodec.encode(
                                  cache.exportKeys(layer, from, to), DType.DTYPE_F32, shape))
                          .setValue(
                              TensorCodec.encode(
                                  cache.exportValues(layer, from, to), DType.DTYPE_F32, shape)))
                  .build());
        }
      }
      cache.setLayerRange(newSplit + 1, layers);
      reserveFor(nextPosition, layers - newSplit);
    }
    epoch = sw.getEpoch();
    split = newSplit;
    ack(t0);
  }

  private long pendingStart;

  private void ack(long t0) {
    send(
        EdgeMessage.newBuilder()
            .setSplitAck(
                SplitSwitchAck.newBuilder()
                    .setSessionId(id)
                    .setEpoch(epoch)
                    .setSplit(split)
                    .setEffectivePosition(nextPosition))
            .build());
    service.metrics().splitSwitch(System.nanoTime() - t0);
  }

  private void kvImport(KvTransfer kv) {
    checkSession(kv.getSessionId());
    if (pending == null) {
      throw SessionException.precondition(
          "unexpected_kv", "KvTransfer without a SplitSwitch that moves layers to the edge");
    }
    if (kv.getEpoch() != pending.epoch) {
      throw SessionException.precondition(
          kv.getEpoch() < pending.epoch ? "stale_epoch" : "wrong_epoch",
          (kv.getEpoch() < pending.epoch ? "stale epoch " : "epoch ")
              + kv.getEpoch()
              + " in KvTransfer: the switch is at epoch "
              + pending.epoch);
    }
    Integer have = pending.received.get(kv.getLayer());
    if (have == null) {
      throw SessionException.invalid(
          "wrong_layer",
          "KvTransfer of layer "
              + kv.getLayer()
              + " but the edge expects layers "
              + pending.received.firstKey()
              + ".."
              + pending.received.lastKey());
    }
    if (kv.getFirstPosition() != have) {
      throw SessionException.invalid(
          "wrong_position",
          "KvTransfer of layer "
              + kv.getLayer()
              + " starts at "
              + kv.getFirstPosition()
              + " but the next expected position is "
              + have);
    }
    long[] ks = TensorCodec.shape(kv.getKey());
    long[] vs = TensorCodec.shape(kv.getValue());
    if (ks.length != 3
        || !Arrays.equals(ks, vs)
        || ks[0] != mc.numKvHeads()
        || ks[2] != mc.headDim()
        || ks[1] < 1
        || have + ks[1] > pending.effectivePosition) {
      throw SessionException.invalid(
          "wrong_shape",
          "KV shapes "
              + Arrays.toString(ks)
              + " / "
              + Arrays.toString(vs)
              + " must both be ["
              + mc.numKvHeads()
              + ", T, "
              + mc.headDim()
              + "] within positions [0, "
              + pending.effectivePosition
              + ")");
    }
    float[] k = TensorCodec.decode(kv.getKey());
    float[] v = TensorCodec.decode(kv.getValue());
    if (TensorCodec.firstNonFinite(k) >= 0 || TensorCodec.firstNonFinite(v) >= 0) {
      throw SessionException.invalid("non_finite", "KvTransfer has non-finite values");
    }
    int tokens = (int) ks[1];
    cache.importLayer(kv.getLayer(), have, tokens, k, v);
    pending.received.put(kv.getLayer(), have + tokens);
    if (pending.complete()) {
      pending = null;
      ack(pendingStart);
    }
  }

  // ---------------------------------------------------------------- pilots

  private void pilot(io.splitinfer.proto.v1.Pilot p) {
    checkSession(p.getSessionId());
    try {
      service
          .pilotHandler()
          .onPilot(id, ueId, p)
          .ifPresent(e -> send(EdgeMessage.newBuilder().setChannelEstimate(e).build()));
    } catch (IllegalArgumentException e) {
      throw SessionException.invalid("bad_pilot", "pilot: " + e.getMessage());
    }
  }
}
