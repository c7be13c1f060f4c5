package io.splitinfer.edge;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.splitinfer.core.security.Authz;
import io.splitinfer.core.security.Role;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.proto.v1.ChannelEstimate;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.GetModelInfoRequest;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.Pilot;
import io.splitinfer.proto.v1.SplitInferenceGrpc;
import io.splitinfer.proto.v1.UeMessage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The edge half of the data plane as a gRPC service: answers GetModelInfo and opens one {@link
 * EdgeSession} per Session stream. It owns what sessions share: the model description, the {@link
 * SessionTable} (registry, limits, KV budget, idle reaper), the {@link InputChecks}, the {@link
 * StepRunner} (with the optional decode batcher) and the pilot handler. It holds no per-session
 * state. Close it to end the reaper and the batcher; the engine stays the caller's.
 */
public final class SplitInferenceService extends SplitInferenceGrpc.SplitInferenceImplBase
    implements AutoCloseable {
  /** Estimates the uplink from one session's pilots; empty when it has no estimate yet. */
  public interface PilotHandler {
    java.util.Optional<ChannelEstimate> onPilot(String sessionId, String ueId, Pilot pilot);

    /** Every received HiddenState (for the loss estimate), before the session validates it. */
    default void onHidden(String sessionId, String ueId, io.splitinfer.proto.v1.HiddenState h) {}

    default void sessionEnded(String sessionId) {}

    PilotHandler NONE = (sessionId, ueId, pilot) -> java.util.Optional.empty();
  }

  private final EdgeModel model;
  private final EdgeConfig config;
  private final EdgeMetrics metrics;
  private final ModelInfo modelInfo;
  private final int maxMessageBytes;
  private final SessionTable table;
  private final InputChecks checks;
  private final StepRunner steps;
  private final SpecVerifier spec;
  private final DecodeBatcher batcher;
  private final ExecutorService prefillPool;
  private final Authz authz;
  private final PrefillGate prefills;
  private volatile PilotHandler pilotHandler = PilotHandler.NONE;

  /** Default client limits, no authorisation (tests and embedding). */
  public SplitInferenceService(EdgeModel model, EdgeConfig config, EdgeMetrics metrics) {
    this(model, config, ClientLimits.defaults(), Authz.off(), metrics);
  }

  /**
   * @param limits per-client quotas and the open deadline
   * @param authz who may open sessions: with enforcement on, a UE only under its own {@code ue_id}
   *     (its identity's name, or the identity channel-sim forwarded)
   */
  public SplitInferenceService(
      EdgeModel model, EdgeConfig config, ClientLimits limits, Authz authz, EdgeMetrics metrics) {
    this.model = model;
    this.authz = authz;
    this.config = config;
    this.metrics = metrics;
    ModelConfig mc = model.engine().config();
    int maxSplit = config.maxSplit() < 0 ? mc.numLayers() : config.maxSplit();
    if (config.minSplit() < 0 || config.minSplit() > maxSplit || maxSplit > mc.numLayers()) {
      throw new IllegalArgumentException(
          "split range [" + config.minSplit() + ", " + maxSplit + "] not within [0, L]");
    }
    this.modelInfo =
        ModelInfo.newBuilder()
            .setModelId(model.modelId())
            .setSha256(model.sha256())
            .setNumLayers(mc.numLayers())
            .setHiddenSize(mc.hiddenSize())
            .setNumKvHeads(mc.numKvHeads())
            .setHeadDim(mc.headDim())
            .setVocabSize(mc.vocabSize())
            .setMaxPositions(mc.maxPositions())
            .setMinSplit(config.minSplit())
            .setMaxSplit(maxSplit)
            .setBosTokenId(mc.bosTokenId())
            .setEosTokenId(mc.eosTokenId())
            .setMaxChunkTokens(config.maxChunkTokens())
            .setMaxDraftTokens(SpecVerifier.maxDraft(config.maxChunkTokens()))
            .setConditionalRows(true)
            .build();
    this.maxMessageBytes = maxInboundMessageBytes(mc, config.maxChunkTokens());
    this.checks = new InputChecks(mc, modelInfo, config, maxMessageBytes);
    this.table = new SessionTable(config, limits, metrics);
    this.prefills = new PrefillGate(limits.prefillSlots(), metrics);
    this.batcher =
        config.batchDecode()
            ? new DecodeBatcher(model.engine(), config.batchWindow(), config.batchMax(), metrics)
                .start()
            : null;
    this.prefillPool =
        batcher == null
            ? null
            : Executors.newCachedThreadPool(
                r -> {
                  Thread t = new Thread(r, "edge-prefill");
                  t.setDaemon(true);
                  return t;
                });
    this.steps =
        new StepRunner(model.engine(), batcher, prefillPool, prefills, metrics, model.tokenText());
    this.spec =
        new SpecVerifier(
            model.engine(), config.maxChunkTokens(), prefills, metrics, model.tokenText());
  }

  /**
   * Largest inbound message the server should accept: one full hidden chunk or KV block, plus the
   * draft distributions of a speculative step at the most drafts.
   */
  public static int maxInboundMessageBytes(ModelConfig mc, int maxChunkTokens) {
    long hidden = (long) maxChunkTokens * mc.hiddenSize() * 4;
    long kv = 2L * mc.numKvHeads() * maxChunkTokens * mc.headDim() * 4;
    long targets = (long) maxChunkTokens * 6;
    long drafts = (long) SpecVerifier.maxDraft(maxChunkTokens) * mc.vocabSize() * 4;
    return (int) Math.min(Integer.MAX_VALUE, Math.max(hidden, kv) + targets + drafts + (64 << 10));
  }

  /** Largest UeMessage a session accepts (larger: RESOURCE_EXHAUSTED). */
  public int maxMessageBytes() {
    return maxMessageBytes;
  }

  public ModelInfo modelInfo() {
    return modelInfo;
  }

  public int liveSessions() {
    return table.size();
  }

  /** KV bytes reserved against the budget (logical: positions x layers). */
  public long kvBytesReserved() {
    return table.kvReserved();
  }

  /** KV bytes the live sessions' caches actually hold ({@code KvCache.bytes()}). */
  public long kvBytesHeld() {
    return table.kvHeld();
  }

  /** Decode steps waiting in the decode batcher now (0 without batching: steps run at once). */
  public int decodeQueueDepth() {
    return batcher == null ? 0 : batcher.queued();
  }

  public void setPilotHandler(PilotHandler handler) {
    this.pilotHandler = handler == null ? PilotHandler.NONE : handler;
  }

  PilotHandler pilotHandler() {
    return pilotHandler;
  }

  EdgeModel model() {
    return model;
  }

  EdgeConfig config() {
    return config;
  }

  EdgeMetrics metrics() {
    return metrics;
  }

  SessionTable table() {
    return table;
  }

  InputChecks checks() {
    return checks;
  }

  StepRunner steps() {
    return steps;
  }

  SpecVerifier spec() {
    return spec;
  }

  InferenceEngine engine() {
    return model.engine();
  }

  Authz authz() {
    return authz;
  }

  /** Live Session streams, opened or not. */
  public int liveStreams() {
    return table.streams();
  }

  @Override
  public void getModelInfo(GetModelInfoRequest request, StreamObserver<ModelInfo> out) {
    out.onNext(modelInfo);
    out.onCompleted();
  }

  @Override
  public StreamObserver<UeMessage> session(StreamObserver<EdgeMessage> responseObserver) {
    ServerCallStreamObserver<EdgeMessage> out =
        (ServerCallStreamObserver<EdgeMessage>) responseObserver;
    try {
      authz.require(Role.UE, Role.OPERATOR);
    } catch (StatusRuntimeException e) {
      metrics.rejected(
          e.getStatus().getCode() == Status.Code.UNAUTHENTICATED
              ? "unauthenticated"
              : "permission_denied");
      out.onError(e);
      return DISCARD;
    }
    EdgeSession s = new EdgeSession(this, out, ClientKey.current());
    if (!table.addStream(s)) {
      metrics.rejected("client_streams");
      out.onError(
          Status.RESOURCE_EXHAUSTED
              .withDescription(
                  "client "
                      + s.client()
                      + " holds its quota of "
                      + table.limits().streamsPerClient()
                      + " Session streams")
              .asRuntimeException());
      return DISCARD;
    }
    out.setOnCancelHandler(s::cancelled);
    s.start(out);
    return s;
  }

  /** Swallows the messages of a stream refused at its start. */
  private static final StreamObserver<UeMessage> DISCARD =
      new StreamObserver<>() {
        @Override
        public void onNext(UeMessage value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };

  /** Ends every live session with UNAVAILABLE (server shutting down). */
  void endAll() {
    table.endAll(Status.UNAVAILABLE.withDescription("edge server shutting down"));
  }

  @Override
  public void close() {
    table.close();
    if (batcher != null) {
      batcher.close();
      prefillPool.shutdownNow();
    }
    endAll();
  }
}
