package io.splitinfer.edge;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvRecompute;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.proto.KvBlocks;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.HistoryHidden;
import io.splitinfer.proto.v1.KvTransfer;
import io.splitinfer.proto.v1.SplitSwitch;
import io.splitinfer.proto.v1.SplitSwitchAck;
import java.util.Iterator;
import java.util.TreeMap;

/**
 * One session's split switches with their KV moves. Edge gains layers (new split smaller): it
 * widens the cache, imports the UE's KvTransfer blocks of layers new+1..old and acks when all
 * positions of all of them have arrived; until then a HiddenState or another switch is refused. UE
 * gains layers: it streams KvTransfer blocks of layers old+1..new through {@link Outbound} as the
 * stream becomes ready (one block encoded at a time), then narrows the cache and acks. It owns the
 * pending import and the switch's changes to split, epoch and cache range; it does not run layers,
 * and it leaves input checks to {@link InputChecks}.
 *
 * <p>With {@code method = RECOMPUTE} (the UE's SwitchCostModel chose it) no KV moves: when the UE
 * gains layers the edge narrows its cache and acks at once (the UE recomputes); when the edge gains
 * layers new+1..old it collects the UE's HistoryHidden states at layer new for all positions and
 * runs those layers over them once, which fills their KV, then acks.
 */
final class SplitSwitcher {
  private final InferenceEngine engine;
  private final ModelConfig mc;
  private final InputChecks checks;
  private final EdgeMetrics metrics;
  private final int chunk;
  private PendingImport pending;

  /** Layers the edge is gaining from the UE after a SplitSwitch to a smaller split. */
  private static final class PendingImport {
    final long epoch;
    final long switchStartNanos;
    final int effectivePosition;
    final TreeMap<Integer, Integer> received = new TreeMap<>();
    // RECOMPUTE: the hidden states at layer fromLayer-1 for positions [0, effectivePosition).
    final float[] history;
    int historyPositions;

    PendingImport(
        long epoch, long t0, int fromLayer, int toLayer, int effectivePosition, float[] history) {
      this.epoch = epoch;
      this.switchStartNanos = t0;
      this.effectivePosition = effectivePosition;
      this.history = history;
      for (int l = fromLayer; l <= toLayer; l++) {
        received.put(l, 0);
      }
    }

    boolean complete() {
      return history != null
          ? historyPositions == effectivePosition
          : received.values().stream().allMatch(n -> n == effectivePosition);
    }
  }

  SplitSwitcher(InferenceEngine engine, InputChecks checks, EdgeMetrics metrics, int chunk) {
    this.engine = engine;
    this.mc = engine.config();
    this.checks = checks;
    this.metrics = metrics;
    this.chunk = Math.max(1, chunk);
  }

  /** Refuses a HiddenState while an import is incomplete. */
  void requireNoPendingImport() {
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
  }

  /** Handles a SplitSwitch (checked here in protocol order); KV and ack go through {@code out}. */
  void onSwitch(SessionState s, SplitSwitch sw, Outbound out) {
    checks.session(s, sw.getSessionId());
    checks.switchEpoch(s, sw);
    if (pending != null) {
      throw SessionException.precondition(
          "kv_incomplete", "SplitSwitch before the previous switch's KV transfer completed");
    }
    checks.switchTarget(s, sw);
    boolean recompute =
        switch (sw.getMethod()) {
          case SWITCH_METHOD_KV_TRANSFER -> false;
          case SWITCH_METHOD_RECOMPUTE -> true;
          default ->
              throw SessionException.invalid(
                  "bad_field", "unknown SplitSwitch method " + sw.getMethodValue());
        };
    long t0 = System.nanoTime();
    int oldSplit = s.split;
    int newSplit = sw.getNewSplit();
    int length = (int) s.nextPosition;
    int layers = mc.numLayers();
    if (newSplit != oldSplit && length > 0) {
      metrics.switchMethod(sw.getMethod());
    }
    if (newSplit < oldSplit) {
      // The edge gains layers newSplit+1..oldSplit: the UE follows with their KV, or with the
      // hidden states at layer newSplit to recompute it from.
      s.reserveFor(s.nextPosition, layers - newSplit);
      s.cache.setLayerRange(newSplit + 1, layers);
      s.epoch = sw.getEpoch();
      s.split = newSplit;
      if (length == 0) {
        out.send(ack(s, t0));
      } else {
        float[] history = recompute ? new float[Math.multiplyExact(length, mc.hiddenSize())] : null;
        pending = new PendingImport(s.epoch, t0, newSplit + 1, oldSplit, length, history);
      }
      return;
    }
    s.epoch = sw.getEpoch();
    s.split = newSplit;
    if (newSplit == oldSplit) {
      out.send(ack(s, t0));
      return;
    }
    if (recompute) {
      // The UE gains layers oldSplit+1..newSplit and recomputes their KV itself.
      s.cache.setLayerRange(newSplit + 1, layers);
      s.reserveFor(s.nextPosition, layers - newSplit);
      s.syncHeld();
      out.send(ack(s, t0));
      return;
    }
    // The UE gains layers oldSplit+1..newSplit: stream their KV as the stream is ready, then
    // drop them here and ack. The session settles this run before it changes the cache again.
    KvBlocks.Plan plan =
        new KvBlocks.Plan(
            s.id, s.epoch, oldSplit + 1, newSplit, length, chunk, mc.numKvHeads(), mc.headDim());
    Iterator<KvTransfer> blocks = KvBlocks.export(plan, s.cache::exportKeys, s.cache::exportValues);
    Iterator<EdgeMessage> messages =
        new Iterator<>() {
          @Override
          public boolean hasNext() {
            return blocks.hasNext();
          }

          @Override
          public EdgeMessage next() {
            return EdgeMessage.newBuilder().setKv(blocks.next()).build();
          }
        };
    out.stream(
        messages,
        () -> {
          s.cache.setLayerRange(newSplit + 1, layers);
          s.reserveFor(s.nextPosition, layers - newSplit);
          s.syncHeld();
          return ack(s, t0);
        });
  }

  /** Imports one KvTransfer block of a pending switch; acks when the import is complete. */
  void onKv(SessionState s, KvTransfer kv, Outbound out) {
    checks.session(s, kv.getSessionId());
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
    if (pending.history != null) {
      throw SessionException.precondition(
          "unexpected_kv", "KvTransfer during a RECOMPUTE switch (expected HistoryHidden)");
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
    InputChecks.KvBlock b = checks.kv(kv, have, pending.effectivePosition);
    s.cache.importLayer(kv.getLayer(), have, b.tokens(), b.keys(), b.values());
    pending.received.put(kv.getLayer(), have + b.tokens());
    if (pending.complete()) {
      long t0 = pending.switchStartNanos;
      pending = null;
      s.syncHeld();
      out.send(ack(s, t0));
    }
  }

  /**
   * Collects one HistoryHidden block of a RECOMPUTE switch that moves layers to the edge; when all
   * positions are in, runs the gained layers over them once (filling their KV) and acks.
   */
  void onHistory(SessionState s, HistoryHidden h, Outbound out) {
    checks.session(s, h.getSessionId());
    if (pending == null || pending.history == null) {
      throw SessionException.precondition(
          "unexpected_history", "HistoryHidden without a RECOMPUTE SplitSwitch to a smaller split");
    }
    if (h.getEpoch() != pending.epoch) {
      throw SessionException.precondition(
          h.getEpoch() < pending.epoch ? "stale_epoch" : "wrong_epoch",
          "epoch " + h.getEpoch() + " in HistoryHidden: the switch is at epoch " + pending.epoch);
    }
    if (h.getSplitLayer() != s.split) {
      throw SessionException.invalid(
          "wrong_layer",
          "HistoryHidden at layer " + h.getSplitLayer() + " but the new split is " + s.split);
    }
    if (h.getFirstPosition() != pending.historyPositions) {
      throw SessionException.invalid(
          "wrong_position",
          "HistoryHidden starts at "
              + h.getFirstPosition()
              + " but the next expected position is "
              + pending.historyPositions);
    }
    if (h.getTensor().getDtype() != DType.DTYPE_F32) {
      throw SessionException.invalid(
          "bad_dtype", "HistoryHidden must be DTYPE_F32, got " + h.getTensor().getDtype());
    }
    long[] shape = TensorCodec.shape(h.getTensor());
    int d = mc.hiddenSize();
    if (shape.length != 2
        || shape[1] != d
        || shape[0] < 1
        || shape[0] > pending.effectivePosition - pending.historyPositions) {
      throw SessionException.invalid(
          "bad_shape",
          "HistoryHidden shape "
              + java.util.Arrays.toString(shape)
              + ": expected [T, "
              + d
              + "] with 1 <= T <= "
              + (pending.effectivePosition - pending.historyPositions));
    }
    float[] x = TensorCodec.decode(h.getTensor());
    for (float v : x) {
      if (!Float.isFinite(v)) {
        throw SessionException.invalid("non_finite", "HistoryHidden holds NaN or Inf");
      }
    }
    System.arraycopy(x, 0, pending.history, pending.historyPositions * d, x.length);
    pending.historyPositions += (int) shape[0];
    if (pending.complete()) {
      int from = pending.received.firstKey();
      int to = pending.received.lastKey();
      KvRecompute.run(engine, s.cache, from, to, pending.history, pending.effectivePosition, chunk);
      long t0 = pending.switchStartNanos;
      pending = null;
      s.syncHeld();
      out.send(ack(s, t0));
    }
  }

  private EdgeMessage ack(SessionState s, long t0) {
    metrics.splitSwitch(System.nanoTime() - t0);
    return EdgeMessage.newBuilder()
        .setSplitAck(
            SplitSwitchAck.newBuilder()
                .setSessionId(s.id)
                .setEpoch(s.epoch)
                .setSplit(s.split)
                .setEffectivePosition(s.nextPosition))
        .build();
  }
}
