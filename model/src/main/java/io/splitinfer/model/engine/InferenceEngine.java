package io.splitinfer.model.engine;

import java.util.List;

/**
 * Runs parts of one decoder model: the embedding, any contiguous range of decoder layers with a
 * per-session KV cache, and the head (final RMSNorm + LM head). A split p is then {@code embed ->
 * runLayers(1..p)} on the UE and {@code runLayers(p+1..L) -> head} on the edge. Hidden states are
 * row-major float arrays [T, hiddenSize]; logits [T, vocabSize].
 *
 * <p>Implementations: the ONNX Runtime engine (production) and the plain-Java reference engine (the
 * test oracle). Thread-safe for calls on different caches.
 */
public interface InferenceEngine extends AutoCloseable {
  ModelConfig config();

  /** Token ids -> embeddings [T, d]. */
  float[] embed(int[] tokenIds);

  /** An empty cache for layers [firstLayer, lastLayer] (1-based inclusive). */
  KvCache newCache(int firstLayer, int lastLayer);

  /**
   * Runs layers [fromLayer, toLayer] (1-based inclusive; none when toLayer < fromLayer) on {@code
   * tokens} new positions starting at {@code cache.length()}, appending their keys/values to the
   * cache; returns the output of layer toLayer [T, d].
   */
  float[] runLayers(int fromLayer, int toLayer, float[] hidden, int tokens, KvCache cache);

  /**
   * One decode step for several sessions at once (each one new position, each its own cache and own
   * layer range start); default runs them one by one. Returns one [1, d] output per request.
   */
  default List<float[]> runLayersBatch(List<BatchItem> items) {
    return items.stream()
        .map(i -> runLayers(i.fromLayer(), i.toLayer(), i.hidden(), 1, i.cache()))
        .toList();
  }

  /** Final RMSNorm + LM head: hidden [T, d] -> logits [T, vocab]. */
  float[] head(float[] hidden, int tokens);

  @Override
  void close();

  /** One session's decode step in a batch. */
  record BatchItem(int fromLayer, int toLayer, float[] hidden, KvCache cache) {}
}
