package io.splitinfer.model.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.ModelConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One decoder layer run for the decode steps of several sessions in one ONNX Runtime call (part
 * format parts-3, {@link LlamaGraphs#layer}): the B rows go in as {@code hidden [B, d]}, each
 * session's valid keys/values are copied into one batch buffer {@code [B, kvH, C, hd]} padded to
 * the largest capacity C in the batch (the graph masks slots >= {@code past_length[b]}), and the
 * returned new entries are appended to each session's cache. The weights are read once per batch
 * instead of once per session, which is what pays on a memory-bound CPU; the price is the copy of
 * each session's past KV of this layer (a memcpy of valid positions only, O(context) per step, as
 * against none on the one-session path, which reads its buffers in place).
 *
 * <p>The batch buffers are reused across calls (direct memory, grown in steps) under a lock, so two
 * batches on one engine run one after the other; the edge runs batches from one thread.
 */
final class OnnxBatch implements AutoCloseable {
  private static final Set<String> OUTPUTS =
      Set.of(LlamaGraphs.HIDDEN_OUT, LlamaGraphs.KEY, LlamaGraphs.VALUE);

  /** One session's row in a layer's batch: its cache, first new position and current hidden. */
  static final class Row {
    final OnnxKvCache cache;
    final int start;
    float[] hidden;

    Row(OnnxKvCache cache, int start, float[] hidden) {
      this.cache = cache;
      this.start = start;
      this.hidden = hidden;
    }
  }

  private final OrtEnvironment env;
  private final ModelConfig config;
  private final DirectInputs inputs;
  private final ReentrantLock lock = new ReentrantLock();
  private ByteBuffer keyBytes;
  private ByteBuffer valueBytes;

  /**
   * Decode steps of several sessions, layer by layer: at layer l, the sessions whose range holds l
   * run it in one call ({@link #runLayer}); a layer with one such session runs as alone (KV in
   * place). Validates the items first; returns null (nothing run) when they should run one by one:
   * fewer than two items, or parts without the batch axis (older packages).
   */
  List<float[]> decode(
      List<InferenceEngine.BatchItem> items, PartSessions parts, LayerCalls calls) {
    int lo = Integer.MAX_VALUE;
    int hi = Integer.MIN_VALUE;
    Set<KvCache> seen = Collections.newSetFromMap(new IdentityHashMap<>());
    for (InferenceEngine.BatchItem it : items) {
      if (!(it.cache() instanceof OnnxKvCache)) {
        throw new IllegalArgumentException("cache was not made by this engine: " + it.cache());
      }
      if (!seen.add(it.cache())) {
        throw new IllegalArgumentException("one cache twice in a batch: " + it.cache());
      }
      if (it.hidden().length != config.hiddenSize()) {
        throw new IllegalArgumentException(
            "hidden has " + it.hidden().length + " floats, expected 1 x " + config.hiddenSize());
      }
      if (it.fromLayer() <= it.toLayer()) {
        if (it.fromLayer() < 1 || it.toLayer() > config.numLayers()) {
          throw new IllegalArgumentException(
              "layers "
                  + it.fromLayer()
                  + ".."
                  + it.toLayer()
                  + " outside 1.."
                  + config.numLayers());
        }
        lo = Math.min(lo, it.fromLayer());
        hi = Math.max(hi, it.toLayer());
      }
    }
    for (int l = lo; l <= hi; l++) {
      if (!parts.batchAxis(l) || items.size() < 2) {
        return null;
      }
    }
    Row[] rows = new Row[items.size()];
    for (int i = 0; i < rows.length; i++) {
      InferenceEngine.BatchItem it = items.get(i);
      OnnxKvCache kv = (OnnxKvCache) it.cache();
      rows[i] = new Row(kv, kv.beginRun(it.fromLayer(), it.toLayer(), 1), it.hidden());
    }
    for (int l = lo; l <= hi; l++) {
      List<Row> at = new ArrayList<>();
      for (int i = 0; i < rows.length; i++) {
        if (items.get(i).fromLayer() <= l && l <= items.get(i).toLayer()) {
          at.add(rows[i]);
        }
      }
      try {
        if (at.size() == 1) {
          Row r = at.get(0);
          long[] at1 = {r.start};
          r.hidden = calls.inPlace(parts.get(l), r.cache, l, true, r.hidden, 1, at1, at1);
        } else if (!at.isEmpty()) {
          runLayer(parts.get(l), l, at);
        }
      } catch (OrtException e) {
        throw new IllegalStateException("layer " + l + " (batch) failed: " + e.getMessage(), e);
      }
    }
    List<float[]> out = new ArrayList<>(rows.length);
    for (int i = 0; i < rows.length; i++) {
      InferenceEngine.BatchItem it = items.get(i);
      rows[i].cache.endRun(rows[i].start, 1);
      out.add(rows[i].hidden == it.hidden() ? it.hidden().clone() : rows[i].hidden);
    }
    return out;
  }

  /**
   * @param inputs the engine's reused direct buffers for hidden-state inputs (a heap-wrapped input
   *     would be copied by ONNX Runtime into a new direct buffer on every layer call)
   */
  OnnxBatch(OrtEnvironment env, ModelConfig config, DirectInputs inputs) {
    this.env = env;
    this.config = config;
    this.inputs = inputs;
  }

  /** Runs layer {@code layer} ({@code part}) on one new position of each row; updates the rows. */
  void runLayer(OrtSession part, int layer, List<Row> rows) throws OrtException {
    int b = rows.size();
    int d = config.hiddenSize();
    int kvh = config.numKvHeads();
    int hd = config.headDim();
    int c = 0;
    for (Row r : rows) {
      c = Math.max(c, r.cache.capacityFor(layer, r.start + 1));
    }
    float[] x = new float[b * d];
    long[] pos = new long[b];
    for (int i = 0; i < b; i++) {
      System.arraycopy(rows.get(i).hidden, 0, x, i * d, d);
      pos[i] = rows.get(i).start;
    }
    int perRow = kvh * c * hd;
    lock.lock();
    try {
      FloatBuffer keys = buffer(true, b * perRow);
      FloatBuffer values = buffer(false, b * perRow);
      for (int i = 0; i < b; i++) {
        Row r = rows.get(i);
        r.cache.copyInto(layer, r.start + 1, r.start, keys, values, i * perRow, c);
      }
      long[] kvShape = {b, kvh, c, hd};
      FloatBuffer in = inputs.take(x, b * d);
      try (OnnxTensor h = OnnxTensor.createTensor(env, in, new long[] {b, d});
          OnnxTensor k = OnnxTensor.createTensor(env, keys, kvShape);
          OnnxTensor v = OnnxTensor.createTensor(env, values, kvShape);
          OnnxTensor n = OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[] {b});
          OnnxTensor p = OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[] {b});
          OrtSession.Result out =
              part.run(
                  Map.of(
                      LlamaGraphs.HIDDEN, h,
                      LlamaGraphs.PAST_KEY, k,
                      LlamaGraphs.PAST_VALUE, v,
                      LlamaGraphs.PAST_LENGTH, n,
                      LlamaGraphs.POSITIONS, p),
                  OUTPUTS)) {
        float[] y = LayerCalls.floats(out, LlamaGraphs.HIDDEN_OUT, b * d);
        float[] newK = LayerCalls.floats(out, LlamaGraphs.KEY, b * kvh * hd);
        float[] newV = LayerCalls.floats(out, LlamaGraphs.VALUE, b * kvh * hd);
        for (int i = 0; i < b; i++) {
          Row r = rows.get(i);
          r.cache.put(layer, r.start, 1, newK, i * kvh * hd, newV, i * kvh * hd);
          float[] row = new float[d];
          System.arraycopy(y, i * d, row, 0, d);
          r.hidden = row;
        }
      } finally {
        inputs.give(in);
      }
    } finally {
      lock.unlock();
    }
  }

  /** The reused batch buffer, limited to {@code floats}; grown in 1 MiB steps. */
  private FloatBuffer buffer(boolean key, int floats) {
    ByteBuffer cur = key ? keyBytes : valueBytes;
    long bytes = (long) floats * Float.BYTES;
    if (cur == null || cur.capacity() < bytes) {
      if (cur != null) {
        DirectMemory.free(cur);
      }
      long step = 1L << 20;
      cur =
          ByteBuffer.allocateDirect((int) ((bytes + step - 1) / step * step))
              .order(ByteOrder.nativeOrder());
      if (key) {
        keyBytes = cur;
      } else {
        valueBytes = cur;
      }
    }
    FloatBuffer f = cur.asFloatBuffer();
    f.limit(floats);
    return f.slice();
  }

  @Override
  public void close() {
    lock.lock();
    try {
      if (keyBytes != null) {
        DirectMemory.free(keyBytes);
        DirectMemory.free(valueBytes);
        keyBytes = null;
        valueBytes = null;
      }
    } finally {
      lock.unlock();
    }
  }
}
