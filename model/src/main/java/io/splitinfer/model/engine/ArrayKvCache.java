package io.splitinfer.model.engine;

import java.nio.FloatBuffer;
import java.util.Arrays;

/**
 * A {@link KvCache} of per-layer key and value buffers in [kvHeads, capacity, headDim] layout: Java
 * heap arrays growing by doubling here; a subclass may allocate other buffers (the ONNX engine's
 * are direct, so ONNX Runtime reads them in place) and grow them differently ({@link #allocate},
 * {@link #grownCapacity}). Not thread-safe: one cache belongs to one session.
 *
 * <p>Positions: a run of layers [from, to] starts at the number of positions that layer {@code
 * from} already holds, which must equal {@link #length()} (a normal step) or {@code length() - T}
 * (the second half of the same tokens run through a sub-range). Layers that joined through {@link
 * #setLayerRange} must be filled by {@link #importLayer} first, or a run refuses them.
 */
public class ArrayKvCache implements KvCache {
  private static final int MIN_CAPACITY = 16;

  private final int kvHeads;
  private final int headDim;
  private int firstLayer;
  private int lastLayer;
  private int length;
  private FloatBuffer[] keys;
  private FloatBuffer[] values;
  private int[] capacity;
  private int[] filled;
  private boolean closed;

  public ArrayKvCache(int kvHeads, int headDim, int firstLayer, int lastLayer) {
    this.kvHeads = kvHeads;
    this.headDim = headDim;
    this.firstLayer = firstLayer;
    this.lastLayer = Math.max(lastLayer, firstLayer - 1);
    int n = this.lastLayer - firstLayer + 1;
    keys = new FloatBuffer[n];
    values = new FloatBuffer[n];
    capacity = new int[n];
    filled = new int[n];
  }

  public int kvHeads() {
    return kvHeads;
  }

  public int headDim() {
    return headDim;
  }

  @Override
  public int firstLayer() {
    return firstLayer;
  }

  @Override
  public int lastLayer() {
    return lastLayer;
  }

  @Override
  public int length() {
    return length;
  }

  /** Positions that {@code layer} holds. */
  public int filled(int layer) {
    return filled[index(layer)];
  }

  /** Capacity (positions) of {@code layer}'s arrays; the stride between heads. */
  public int capacity(int layer) {
    return capacity[index(layer)];
  }

  /**
   * Key array of {@code layer}, [kvHeads, capacity, headDim]; valid until the next append (heap
   * caches only).
   */
  public float[] keyArray(int layer) {
    FloatBuffer b = keys[index(layer)];
    return b == null ? null : b.array();
  }

  /** Value array of {@code layer}, [kvHeads, capacity, headDim] (heap caches only). */
  public float[] valueArray(int layer) {
    FloatBuffer b = values[index(layer)];
    return b == null ? null : b.array();
  }

  /** Key buffer of {@code layer}, [kvHeads, capacity, headDim]; replaced when it grows. */
  protected FloatBuffer keyBuffer(int layer) {
    return keys[index(layer)];
  }

  /** Value buffer of {@code layer}, [kvHeads, capacity, headDim]; replaced when it grows. */
  protected FloatBuffer valueBuffer(int layer) {
    return values[index(layer)];
  }

  /** A zeroed buffer of {@code floats} floats (heap here). */
  protected FloatBuffer allocate(int floats) {
    return FloatBuffer.wrap(new float[floats]);
  }

  /**
   * Called when a buffer is no longer used (grown out of, dropped, closed); heap: nothing to do.
   */
  protected void release(FloatBuffer old) {}

  /** Capacity to grow to from {@code cap} to hold {@code needed} positions (doubling here). */
  protected int grownCapacity(int cap, int needed) {
    int newCap = Math.max(MIN_CAPACITY, cap);
    while (newCap < needed) {
      newCap *= 2;
    }
    return newCap;
  }

  /** Makes {@code layer} hold at least {@code positions} positions without growing later. */
  protected void reserve(int layer, int positions) {
    ensureCapacity(index(layer), positions);
  }

  private int index(int layer) {
    checkOpen();
    if (layer < firstLayer || layer > lastLayer) {
      throw new IllegalArgumentException(
          "layer " + layer + " is outside this cache's range " + firstLayer + ".." + lastLayer);
    }
    return layer - firstLayer;
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("KV cache is closed");
    }
  }

  /**
   * Checks a run of layers [from, to] on {@code tokens} new positions and returns its first
   * position.
   */
  public int beginRun(int from, int to, int tokens) {
    checkOpen();
    if (tokens <= 0) {
      throw new IllegalArgumentException("tokens must be > 0, got " + tokens);
    }
    if (to < from) {
      return length;
    }
    if (from < firstLayer || to > lastLayer) {
      throw new IllegalArgumentException(
          "layers "
              + from
              + ".."
              + to
              + " are outside this cache's range "
              + firstLayer
              + ".."
              + lastLayer);
    }
    int start = filled[from - firstLayer];
    for (int l = from; l <= to; l++) {
      int f = filled[l - firstLayer];
      if (f != start || (start != length && start + tokens != length)) {
        throw new IllegalStateException(
            "layer "
                + l
                + " holds "
                + f
                + " positions but the cache holds "
                + length
                + ": import the missing keys/values first");
      }
    }
    return start;
  }

  /** Marks a run that began at {@code start} as done. */
  public void endRun(int start, int tokens) {
    length = Math.max(length, start + tokens);
  }

  /**
   * Writes keys/values for positions [from, from+T) of {@code layer} from [kvHeads, T, headDim]
   * arrays (at offsets), growing the arrays as needed; the layer then holds from+T positions.
   */
  public void put(int layer, int from, int tokens, float[] k, int kOffset, float[] v, int vOffset) {
    int i = index(layer);
    if (from > filled[i]) {
      throw new IllegalArgumentException(
          "layer " + layer + " holds " + filled[i] + " positions; cannot write at " + from);
    }
    ensureCapacity(i, from + tokens);
    int cap = capacity[i];
    for (int h = 0; h < kvHeads; h++) {
      keys[i].put((h * cap + from) * headDim, k, kOffset + h * tokens * headDim, tokens * headDim);
      values[i].put(
          (h * cap + from) * headDim, v, vOffset + h * tokens * headDim, tokens * headDim);
    }
    filled[i] = from + tokens;
  }

  private void ensureCapacity(int i, int needed) {
    int cap = capacity[i];
    if (needed <= cap) {
      return;
    }
    int newCap = grownCapacity(cap, needed);
    FloatBuffer nk = allocate(kvHeads * newCap * headDim);
    FloatBuffer nv = allocate(kvHeads * newCap * headDim);
    int keep = filled[i];
    for (int h = 0; h < kvHeads && keys[i] != null && keep > 0; h++) {
      nk.put(h * newCap * headDim, keys[i], h * cap * headDim, keep * headDim);
      nv.put(h * newCap * headDim, values[i], h * cap * headDim, keep * headDim);
    }
    if (keys[i] != null) {
      release(keys[i]);
      release(values[i]);
    }
    keys[i] = nk;
    values[i] = nv;
    capacity[i] = newCap;
  }

  @Override
  public void truncate(int newLength) {
    checkOpen();
    if (newLength < 0) {
      throw new IllegalArgumentException("negative length " + newLength);
    }
    length = Math.min(length, newLength);
    for (int i = 0; i < filled.length; i++) {
      filled[i] = Math.min(filled[i], newLength);
    }
  }

  @Override
  public float[] exportKeys(int layer, int from, int to) {
    return export(keys, layer, from, to);
  }

  @Override
  public float[] exportValues(int layer, int from, int to) {
    return export(values, layer, from, to);
  }

  private float[] export(FloatBuffer[] arrays, int layer, int from, int to) {
    int i = index(layer);
    if (from < 0 || to < from || to > filled[i]) {
      throw new IllegalArgumentException(
          "positions [" + from + ", " + to + ") outside layer " + layer + "'s " + filled[i]);
    }
    int t = to - from;
    float[] out = new float[kvHeads * t * headDim];
    int cap = capacity[i];
    for (int h = 0; h < kvHeads && t > 0; h++) {
      arrays[i].get((h * cap + from) * headDim, out, h * t * headDim, t * headDim);
    }
    return out;
  }

  @Override
  public void setLayerRange(int newFirst, int newLast) {
    checkOpen();
    newLast = Math.max(newLast, newFirst - 1);
    int n = newLast - newFirst + 1;
    FloatBuffer[] nk = new FloatBuffer[n];
    FloatBuffer[] nv = new FloatBuffer[n];
    int[] nc = new int[n];
    int[] nf = new int[n];
    for (int l = newFirst; l <= newLast; l++) {
      if (l >= firstLayer && l <= lastLayer) {
        int o = l - firstLayer;
        nk[l - newFirst] = keys[o];
        nv[l - newFirst] = values[o];
        nc[l - newFirst] = capacity[o];
        nf[l - newFirst] = filled[o];
      }
    }
    for (int o = 0; o < keys.length; o++) {
      int l = firstLayer + o;
      if ((l < newFirst || l > newLast) && keys[o] != null) {
        release(keys[o]);
        release(values[o]);
      }
    }
    keys = nk;
    values = nv;
    capacity = nc;
    filled = nf;
    firstLayer = newFirst;
    lastLayer = newLast;
  }

  @Override
  public void importLayer(int layer, int from, int tokens, float[] k, float[] v) {
    int expected = kvHeads * tokens * headDim;
    if (k.length != expected || v.length != expected) {
      throw new IllegalArgumentException(
          "import of layer "
              + layer
              + ": expected "
              + expected
              + " floats (["
              + kvHeads
              + ", "
              + tokens
              + ", "
              + headDim
              + "]), got keys "
              + k.length
              + ", values "
              + v.length);
    }
    put(layer, from, tokens, k, 0, v, 0);
    length = Math.max(length, from + tokens);
  }

  @Override
  public long bytes() {
    long b = 0;
    for (int c : capacity) {
      b += 2L * kvHeads * c * headDim * Float.BYTES;
    }
    return b;
  }

  @Override
  public void close() {
    closed = true;
    for (int o = 0; o < keys.length; o++) {
      if (keys[o] != null) {
        release(keys[o]);
        release(values[o]);
      }
    }
    Arrays.fill(keys, null);
    Arrays.fill(values, null);
  }
}
