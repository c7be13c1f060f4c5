package io.splitinfer.edge;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.proto.v1.ChannelEstimate;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.GetModelInfoRequest;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.Pilot;
import io.splitinfer.proto.v1.SplitInferenceGrpc;
import io.splitinfer.proto.v1.UeMessage;

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
  private final DecodeBatcher batcher;
  private volatile PilotHandler pilotHandler = PilotHandler.NONE;

  public SplitInferenceService(EdgeModel model, EdgeConfig config, EdgeMetrics metrics) {
    this.model = model;
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
            .build();
    this.maxMessageBytes = maxInboundMessageBytes(mc, config.maxChunkTokens());
    this.checks = new InputChecks(mc, modelInfo, config, maxMessageBytes);
    this.table = new SessionTable(config, metrics);
    this.batcher =
        config.batchDecode()
            ? new DecodeBatcher(model.engine(), config.batchWindow(), 64, metrics).start()
            : null;
    this.steps = new StepRunner(model.engine(), batcher, metrics, model.tokenText());
  }

  /** Largest inbound message the server should accept: one full hidden chunk or KV block. */
  public static int maxInboundMessageBytes(ModelConfig mc, int maxChunkTokens) {
    long hidden = (long) maxChunkTokens * mc.hiddenSize() * 4;
    long kv = 2L * mc.numKvHeads() * maxChunkTokens * mc.headDim() * 4;
    long targets = (long) maxChunkTokens * 6;
    return (int) Math.min(Integer.MAX_VALUE, Math.max(hidden, kv) + targets + (64 << 10));
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

  InferenceEngine engine() {
    return model.engine();
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
    EdgeSession s = new EdgeSession(this, out);
    out.setOnCancelHandler(s::cancelled);
    return s;
  }

  /** Ends every live session with UNAVAILABLE (server shutting down). */
  void endAll() {
    table.endAll(Status.UNAVAILABLE.withDescription("edge server shutting down"));
  }

  @Override
  public void close() {
    table.close();
    if (batcher != null) {
      batcher.close();
    }
    endAll();
  }
}
