package io.splitinfer.edge;

import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.proto.KvBlocks;
import io.splitinfer.proto.v1.EdgeMessage;
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
 */
final class SplitSwitcher {
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

    PendingImport(long epoch, long t0, int fromLayer, int toLayer, int effectivePosition) {
      this.epoch = epoch;
      this.switchStartNanos = t0;
      this.effectivePosition = effectivePosition;
      for (int l = fromLayer; l <= toLayer; l++) {
        received.put(l, 0);
      }
    }

    boolean complete() {
      return received.values().stream().allMatch(n -> n == effectivePosition);
    }
  }

  SplitSwitcher(ModelConfig mc, InputChecks checks, EdgeMetrics metrics, int chunk) {
    this.mc = mc;
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
    long t0 = System.nanoTime();
    int oldSplit = s.split;
    int newSplit = sw.getNewSplit();
    int length = (int) s.nextPosition;
    int layers = mc.numLayers();
    if (newSplit < oldSplit) {
      // The edge gains layers newSplit+1..oldSplit: the UE follows with their KV.
      s.reserveFor(s.nextPosition, layers - newSplit);
      s.cache.setLayerRange(newSplit + 1, layers);
      s.epoch = sw.getEpoch();
      s.split = newSplit;
      if (length == 0) {
        out.send(ack(s, t0));
      } else {
        pending = new PendingImport(s.epoch, t0, newSplit + 1, oldSplit, length);
      }
      return;
    }
    s.epoch = sw.getEpoch();
    s.split = newSplit;
    if (newSplit == oldSplit) {
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
