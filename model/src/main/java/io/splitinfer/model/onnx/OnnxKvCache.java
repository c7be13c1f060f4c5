package io.splitinfer.model.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import io.splitinfer.model.engine.ArrayKvCache;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The ONNX engine's KV cache: per layer one key and one value buffer [kvHeads, capacity, headDim]
 * in direct (native) memory, so a layer part reads them in place as its {@code past_key /
 * past_value} inputs (with {@code past_length}): the KV is held once and never copied per token.
 * Capacity grows in steps of {@link #STEP} positions (the parts attend over the whole buffer with
 * the unused tail masked, so doubling would waste up to half the attention work); a step copies the
 * layer once. The ORT tensors over the buffers are made once per buffer and reused.
 *
 * <p>Parts of the older format (exact-length {@code past_key [kvH, P, hd]}) get a copy of the first
 * P positions per call ({@link #pastCopy}).
 */
final class OnnxKvCache extends ArrayKvCache {
  /** Capacity step in positions. */
  static final int STEP = 256;

  private final Map<Integer, FloatBuffer> tensorBuffers = new HashMap<>();
  private final Map<Integer, OnnxTensor[]> tensors = new HashMap<>();
  private FloatBuffer keyScratch;
  private FloatBuffer valueScratch;

  OnnxKvCache(int kvHeads, int headDim, int first, int last) {
    super(kvHeads, headDim, first, last);
  }

  /** The direct byte buffers behind the float views, to free them when released. */
  private final Map<FloatBuffer, ByteBuffer> owners = new IdentityHashMap<>();

  @Override
  protected FloatBuffer allocate(int floats) {
    ByteBuffer b = ByteBuffer.allocateDirect(floats * Float.BYTES).order(ByteOrder.nativeOrder());
    FloatBuffer f = b.asFloatBuffer();
    owners.put(f, b);
    return f;
  }

  /**
   * Frees a buffer's native memory now rather than at some later GC (a grown-out-of KV buffer is
   * garbage the Java heap does not see; without this, a long prompt leaves several of them behind).
   */
  @Override
  protected void release(FloatBuffer old) {
    for (Integer l : Map.copyOf(tensorBuffers).keySet()) {
      if (tensorBuffers.get(l) == old) {
        closeTensors(l);
      }
    }
    ByteBuffer b = owners.remove(old);
    if (b != null) {
      DirectMemory.free(b);
    }
  }

  @Override
  protected int grownCapacity(int cap, int needed) {
    return Math.max(STEP, (needed + STEP - 1) / STEP * STEP);
  }

  /**
   * The tensors {past_key, past_value} [kvHeads, capacity, headDim] over {@code layer}'s buffers,
   * grown first to hold {@code positions}; owned by this cache.
   */
  OnnxTensor[] inPlace(OrtEnvironment env, int layer, int positions, boolean batchAxis)
      throws OrtException {
    reserve(layer, positions);
    FloatBuffer k = keyBuffer(layer);
    int rank = batchAxis ? 4 : 3;
    OnnxTensor[] t = tensors.get(layer);
    if (t != null && tensorBuffers.get(layer) == k && t[0].getInfo().getShape().length == rank) {
      return t;
    }
    closeTensors(layer);
    long[] shape =
        batchAxis
            ? new long[] {1, kvHeads(), capacity(layer), headDim()}
            : new long[] {kvHeads(), capacity(layer), headDim()};
    OnnxTensor kt = OnnxTensor.createTensor(env, k, shape);
    OnnxTensor vt;
    try {
      vt = OnnxTensor.createTensor(env, valueBuffer(layer), shape);
    } catch (OrtException e) {
      kt.close();
      throw e;
    }
    t = new OnnxTensor[] {kt, vt};
    tensors.put(layer, t);
    tensorBuffers.put(layer, k);
    return t;
  }

  /**
   * Grows {@code layer}'s buffers to hold {@code positions} and copies its first {@code valid}
   * positions into {@code keys / values} at float offset {@code at}, as [kvHeads, stride, headDim]
   * (a batch buffer padded to {@code stride} positions per head); returns the layer's capacity.
   */
  int copyInto(
      int layer,
      int positions,
      int valid,
      FloatBuffer keys,
      FloatBuffer values,
      int at,
      int stride) {
    reserve(layer, positions);
    int cap = capacity(layer);
    int hd = headDim();
    for (int h = 0; h < kvHeads() && valid > 0; h++) {
      keys.put(at + h * stride * hd, keyBuffer(layer), h * cap * hd, valid * hd);
      values.put(at + h * stride * hd, valueBuffer(layer), h * cap * hd, valid * hd);
    }
    return cap;
  }

  /** Capacity {@code layer} would have after growing to hold {@code positions}. */
  int capacityFor(int layer, int positions) {
    reserve(layer, positions);
    return capacity(layer);
  }

  private void closeTensors(int layer) {
    OnnxTensor[] t = tensors.remove(layer);
    tensorBuffers.remove(layer);
    if (t != null) {
      t[0].close();
      t[1].close();
    }
  }

  /** Old-format parts: {past keys, past values} of the first {@code positions}, copied. */
  FloatBuffer[] pastCopy(int layer, int positions) {
    keyScratch = fill(keyScratch, positions == 0 ? null : keyBuffer(layer), layer, positions);
    valueScratch = fill(valueScratch, positions == 0 ? null : valueBuffer(layer), layer, positions);
    return new FloatBuffer[] {keyScratch, valueScratch};
  }

  private FloatBuffer fill(FloatBuffer buf, FloatBuffer src, int layer, int positions) {
    int hd = headDim();
    int n = kvHeads() * positions * hd;
    if (buf == null || buf.capacity() < n) {
      buf = allocate(Math.max(n, buf == null ? 1024 : buf.capacity() * 2));
    }
    buf.clear();
    int cap = positions == 0 ? 0 : capacity(layer);
    for (int h = 0; h < kvHeads() && positions > 0; h++) {
      buf.put(buf.position(), src, h * cap * hd, positions * hd);
      buf.position(buf.position() + positions * hd);
    }
    buf.flip();
    return buf;
  }

  @Override
  public void setLayerRange(int newFirst, int newLast) {
    for (Integer l : Map.copyOf(tensors).keySet()) {
      if (l < newFirst || l > newLast) {
        closeTensors(l);
      }
    }
    super.setLayerRange(newFirst, newLast);
  }

  @Override
  public void close() {
    for (Integer l : Map.copyOf(tensors).keySet()) {
      closeTensors(l);
    }
    super.close();
  }
}
