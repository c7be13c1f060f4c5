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
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The edge half of the data plane: one {@link EdgeSession} per Session stream, each holding the KV
 * cache of layers p+1..L. Enforces the session limits (count, KV budget, idle TTL) and answers
 * GetModelInfo. Close it to end the idle reaper and the decode batcher; the engine stays the
 * caller's.
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
  private final int maxSplit;
  private final int maxMessageBytes;
  private final ConcurrentMap<String, EdgeSession> sessions = new ConcurrentHashMap<>();
  private final AtomicLong kvReserved = new AtomicLong();
  private final ScheduledExecutorService reaper;
  private final DecodeBatcher batcher;
  private volatile PilotHandler pilotHandler = PilotHandler.NONE;

  public SplitInferenceService(EdgeModel model, EdgeConfig config, EdgeMetrics metrics) {
    this.model = model;
    this.config = config;
    this.metrics = metrics;
    ModelConfig mc = model.engine().config();
    this.maxSplit = config.maxSplit() < 0 ? mc.numLayers() : config.maxSplit();
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
    metrics.bindGauges(sessions::size, kvReserved::get);
    this.reaper =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "edge-session-reaper");
              t.setDaemon(true);
              return t;
            });
    long period = Math.max(50, Math.min(1000, config.idleTtl().toMillis() / 4));
    reaper.scheduleAtFixedRate(this::reapIdle, period, period, TimeUnit.MILLISECONDS);
    this.batcher =
        config.batchDecode()
            ? new DecodeBatcher(model.engine(), config.batchWindow(), 64, metrics).start()
            : null;
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
    return sessions.size();
  }

  public long kvBytesReserved() {
    return kvReserved.get();
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

  int maxSplit() {
    return maxSplit;
  }

  DecodeBatcher batcher() {
    return batcher;
  }

  InferenceEngine engine() {
    return model.engine();
  }

  /** Outcome of {@link #register}. */
  enum Registration {
    OK,
    FULL,
    DUPLICATE
  }

  /** Adds a live session unless the id is taken or the session limit is reached. */
  synchronized Registration register(EdgeSession s) {
    if (sessions.containsKey(s.id())) {
      return Registration.DUPLICATE;
    }
    if (sessions.size() >= config.maxSessions()) {
      return Registration.FULL;
    }
    sessions.put(s.id(), s);
    return Registration.OK;
  }

  void unregister(EdgeSession s) {
    sessions.remove(s.id(), s);
  }

  /** Reserves (delta > 0) or returns (delta < 0) KV bytes; false when over budget. */
  boolean reserveKv(long delta) {
    while (true) {
      long cur = kvReserved.get();
      long next = cur + delta;
      if (delta > 0 && next > config.kvBudgetBytes()) {
        return false;
      }
      if (kvReserved.compareAndSet(cur, next)) {
        return true;
      }
    }
  }

  Collection<EdgeSession> sessions() {
    return sessions.values();
  }

  private void reapIdle() {
    long ttl = config.idleTtl().toNanos();
    long now = System.nanoTime();
    for (EdgeSession s : sessions.values()) {
      if (now - s.lastActivityNanos() > ttl) {
        s.expire(Duration.ofNanos(ttl));
      }
    }
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
    for (EdgeSession s : sessions.values()) {
      s.terminate(Status.UNAVAILABLE.withDescription("edge server shutting down"), "shutdown");
    }
  }

  @Override
  public void close() {
    reaper.shutdownNow();
    if (batcher != null) {
      batcher.close();
    }
    endAll();
  }
}
