package io.splitinfer.ue;

import io.grpc.Status;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.KvRecompute;
import io.splitinfer.proto.KvBlocks;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.HistoryHidden;
import io.splitinfer.proto.v1.KvTransfer;
import io.splitinfer.proto.v1.SplitSwitch;
import io.splitinfer.proto.v1.SplitSwitchAck;
import io.splitinfer.proto.v1.SwitchMethod;
import io.splitinfer.proto.v1.UeMessage;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Iterator;
import java.util.function.Function;
import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The UE's side of a split switch, for one {@link UeSession}: the SplitSwitch message, then the KV
 * of the layers that move (exported to the edge, or imported from it until its ack) or their
 * recompute, by the method the {@link SwitchCostModel} picks; the acks it does not wait for,
 * checked in order as they arrive; and what recompute needs, the token ids sent and the hidden
 * states at the current split for every position. It moves KV and layer ranges of the session's
 * cache; the session keeps the split, epoch and position and applies them after {@link #apply}.
 */
final class UeSwitcher {
  private static final Logger log = LoggerFactory.getLogger(UeSwitcher.class);

  private final SessionStream stream;
  private final KvCache cache;
  private final InferenceEngine engine;
  private final String sessionId;
  private final IntSupplier chunk;
  private final Function<String, EdgeMessage> take;
  private final ArrayDeque<SplitSource.Choice> pendingAcks = new ArrayDeque<>();
  private SwitchCostModel costs = new SwitchCostModel(SwitchCostModel.Config.auto());
  private SwitchCostModel.Estimate lastSwitch;
  private int[] tokens = new int[64];
  private float[] history = new float[0];
  private int historyLayer;

  /**
   * @param split the split the session starts at (its hidden states are kept from the start)
   * @param chunk the largest number of positions per message (the edge's max chunk)
   * @param take the session's next message that is neither a channel estimate nor a pending ack
   */
  UeSwitcher(
      SessionStream stream,
      KvCache cache,
      InferenceEngine engine,
      String sessionId,
      int split,
      IntSupplier chunk,
      Function<String, EdgeMessage> take) {
    this.stream = stream;
    this.cache = cache;
    this.engine = engine;
    this.sessionId = sessionId;
    this.historyLayer = split;
    this.chunk = chunk;
    this.take = take;
  }

  SwitchCostModel costs() {
    return costs;
  }

  void useCosts(SwitchCostModel model) {
    this.costs = model;
  }

  /** The cost estimate and method of the last switch that moved layers, or null. */
  SwitchCostModel.Estimate lastSwitch() {
    return lastSwitch;
  }

  /** Whether an ack of a switch the UE did not wait for is still to come. */
  boolean ackPending() {
    return !pendingAcks.isEmpty();
  }

  /** Checks {@code ack} against the oldest switch still waiting for one. */
  void checkPendingAck(SplitSwitchAck ack) {
    checkAck(ack, pendingAcks.poll());
  }

  /** The token ids sent at positions [0, n). */
  int[] sentTokens(int n) {
    return Arrays.copyOf(tokens, n);
  }

  /**
   * Switches from {@code oldSplit} to {@code next} with {@code n} positions sent: SplitSwitch at
   * position n, then the KV of the moving layers (to the edge, or from it) or its recompute (the
   * method the cost model picks). Waits for the edge's ack only when the edge sends KV (the UE
   * gains layers by transfer); otherwise the ack is checked when it arrives.
   */
  void apply(SplitSource.Choice next, int oldSplit, int n) {
    int chunk = this.chunk.getAsInt();
    int newSplit = next.split();
    var ue = engine.config();
    int d = ue.hiddenSize();
    SwitchMethod method = SwitchMethod.SWITCH_METHOD_KV_TRANSFER;
    lastSwitch = null;
    if (newSplit != oldSplit && n > 0) {
      int kvWidth = ue.numKvHeads() * ue.headDim();
      lastSwitch =
          newSplit < oldSplit
              ? costs.choose(
                  oldSplit - newSplit, newSplit, n, kvWidth, (long) n * d * Float.BYTES, false)
              : costs.choose(
                  newSplit - oldSplit,
                  historyLayer == oldSplit ? 0 : oldSplit,
                  n,
                  kvWidth,
                  0,
                  true);
      method = lastSwitch.method();
      log.info(
          "split switch {} -> {} (epoch {}) at {} positions: {}",
          oldSplit,
          newSplit,
          next.epoch(),
          n,
          lastSwitch);
    }
    boolean recompute = method == SwitchMethod.SWITCH_METHOD_RECOMPUTE;
    stream.send(
        UeMessage.newBuilder()
            .setSplitSwitch(
                SplitSwitch.newBuilder()
                    .setSessionId(sessionId)
                    .setEpoch(next.epoch())
                    .setNewSplit(newSplit)
                    .setEffectivePosition(n)
                    .setReason("split decision epoch " + next.epoch())
                    .setMethod(method))
            .build());
    if (newSplit < oldSplit && recompute) {
      // The edge gains layers newSplit+1..oldSplit and recomputes them from our hidden states
      // at layer newSplit, which the UE re-runs from the token history.
      float[] h = rerun(newSplit, n);
      for (int from = 0; from < n; from += chunk) {
        int to = Math.min(n, from + chunk);
        stream.send(
            UeMessage.newBuilder()
                .setHistory(
                    HistoryHidden.newBuilder()
                        .setSessionId(sessionId)
                        .setEpoch(next.epoch())
                        .setSplitLayer(newSplit)
                        .setFirstPosition(from)
                        .setTensor(
                            TensorCodec.encode(
                                Arrays.copyOfRange(h, from * d, to * d),
                                DType.DTYPE_F32,
                                to - from,
                                d)))
                .build());
      }
      cache.setLayerRange(1, newSplit);
      history = h;
      historyLayer = newSplit;
      pendingAcks.add(next);
    } else if (newSplit < oldSplit) {
      // The edge gains layers newSplit+1..oldSplit: send their KV, then drop them here.
      Iterator<KvTransfer> blocks =
          KvBlocks.export(
              new KvBlocks.Plan(
                  sessionId,
                  next.epoch(),
                  newSplit + 1,
                  oldSplit,
                  n,
                  chunk,
                  ue.numKvHeads(),
                  ue.headDim()),
              cache::exportKeys,
              cache::exportValues);
      blocks.forEachRemaining(kv -> stream.send(UeMessage.newBuilder().setKv(kv).build()));
      cache.setLayerRange(1, newSplit);
      historyLayer = n == 0 ? newSplit : -1;
      pendingAcks.add(next);
    } else if (newSplit > oldSplit && recompute) {
      // The UE gains layers oldSplit+1..newSplit and recomputes their KV over the hidden states
      // at layer oldSplit (kept, or re-run from the token history); the edge sends no KV.
      float[] base = historyLayer == oldSplit ? history : rerun(oldSplit, n);
      cache.setLayerRange(1, newSplit);
      long c0 = System.nanoTime();
      history = KvRecompute.run(engine, cache, oldSplit + 1, newSplit, base, n, chunk);
      costs.observeCompute(newSplit - oldSplit, n, System.nanoTime() - c0);
      historyLayer = newSplit;
      pendingAcks.add(next);
    } else if (newSplit > oldSplit) {
      // The UE gains layers oldSplit+1..newSplit: the edge sends their KV before its ack.
      cache.setLayerRange(1, newSplit);
      long t0 = System.nanoTime();
      long bytes = importUntilAck(next);
      costs.observeLink(bytes, System.nanoTime() - t0);
      historyLayer = n == 0 ? newSplit : -1;
    } else {
      pendingAcks.add(next);
    }
  }

  /** The hidden states at the output of {@code layer} for positions [0, n), from the tokens. */
  private float[] rerun(int layer, int n) {
    int[] ids = Arrays.copyOf(tokens, n);
    if (layer == 0) {
      return engine.embed(ids);
    }
    int d = engine.config().hiddenSize();
    float[] out = new float[n * d];
    try (KvCache scratch = engine.newCache(1, layer)) {
      long c0 = System.nanoTime();
      for (int from = 0; from < n; from += chunk.getAsInt()) {
        int to = Math.min(n, from + chunk.getAsInt());
        float[] h =
            engine.runLayers(
                1, layer, engine.embed(Arrays.copyOfRange(ids, from, to)), to - from, scratch);
        System.arraycopy(h, 0, out, from * d, h.length);
      }
      costs.observeCompute(layer, n, System.nanoTime() - c0);
    }
    return out;
  }

  /** Keeps the sent token ids, and their hidden states while they are at the current split. */
  void remember(long position, int split, int[] ids, float[] h) {
    int n = (int) position;
    if (tokens.length < n + ids.length) {
      tokens = Arrays.copyOf(tokens, Math.max(2 * tokens.length, n + ids.length));
    }
    System.arraycopy(ids, 0, tokens, n, ids.length);
    if (historyLayer == split) {
      int d = h.length / ids.length;
      if (history.length < (n + ids.length) * d) {
        history = Arrays.copyOf(history, Math.max(2 * history.length, (n + ids.length) * d));
      }
      System.arraycopy(h, 0, history, n * d, h.length);
    }
  }

  private static void checkAck(SplitSwitchAck ack, SplitSource.Choice expected) {
    if (ack.getEpoch() != expected.epoch() || ack.getSplit() != expected.split()) {
      throw Status.INTERNAL
          .withDescription(
              "edge acknowledged split "
                  + ack.getSplit()
                  + " epoch "
                  + ack.getEpoch()
                  + ", expected "
                  + expected.split()
                  + " epoch "
                  + expected.epoch())
          .asRuntimeException();
    }
  }

  /** Imports the edge's KvTransfer blocks until its SplitSwitchAck; returns the KV bytes. */
  private long importUntilAck(SplitSource.Choice expected) {
    long bytes = 0;
    while (true) {
      EdgeMessage m = take.apply("the KV and ack of a split switch");
      if (m.hasSplitAck()) {
        checkAck(m.getSplitAck(), expected);
        return bytes;
      }
      if (!m.hasKv()) {
        throw Status.INTERNAL
            .withDescription("unexpected " + m.getKindCase() + " during a split switch")
            .asRuntimeException();
      }
      KvTransfer kv = m.getKv();
      bytes += kv.getSerializedSize();
      cache.importLayer(
          kv.getLayer(),
          (int) kv.getFirstPosition(),
          KvBlocks.tokens(kv),
          TensorCodec.decode(kv.getKey()),
          TensorCodec.decode(kv.getValue()));
    }
  }
}
