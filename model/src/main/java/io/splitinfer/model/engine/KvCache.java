package io.splitinfer.model.engine;

/**
 * The key/value cache of one session for a contiguous range of decoder layers [firstLayer,
 * lastLayer] (1-based, inclusive; empty when lastLayer < firstLayer). Keys are stored after RoPE.
 * Layout of exported blocks: [kvHeads, T, headDim], row-major.
 */
public interface KvCache extends AutoCloseable {
  int firstLayer();

  int lastLayer();

  /** Positions cached (the next position to run is {@code length()}). */
  int length();

  /** Drops positions >= {@code newLength}. */
  void truncate(int newLength);

  /** Keys of {@code layer} for positions [from, to), as [kvHeads, to-from, headDim]. */
  float[] exportKeys(int layer, int from, int to);

  /** Values of {@code layer} for positions [from, to), as [kvHeads, to-from, headDim]. */
  float[] exportValues(int layer, int from, int to);

  /**
   * Changes the layer range this cache covers (a split switch). Layers that leave the range are
   * dropped; layers that join it start empty and must be filled with {@link #importLayer} for
   * positions [0, length()) before the next run.
   */
  void setLayerRange(int firstLayer, int lastLayer);

  /** Writes keys/values of {@code layer} for positions [from, from+T) ([kvHeads, T, headDim]). */
  void importLayer(int layer, int from, int tokens, float[] keys, float[] values);

  /** Bytes held by this cache (for the edge's KV memory budget). */
  long bytes();

  @Override
  void close();
}
