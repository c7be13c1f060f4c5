package io.splitinfer.model.engine;

/**
 * Runs one sequence through a model split at p: {@code embed + layers 1..p} on the first engine
 * (the UE side), {@code layers p+1..L + head} on the second (the edge side), each with its own KV
 * cache. Both engines may be the same object. Not thread-safe (one sequence).
 */
public final class SplitRunner implements AutoCloseable {
  private final InferenceEngine ue;
  private final InferenceEngine edge;
  private final int split;
  private final KvCache ueCache;
  private final KvCache edgeCache;

  public SplitRunner(InferenceEngine ue, InferenceEngine edge, int split) {
    int layers = ue.config().numLayers();
    if (split < 0 || split > layers) {
      throw new IllegalArgumentException("split " + split + " outside 0.." + layers);
    }
    this.ue = ue;
    this.edge = edge;
    this.split = split;
    this.ueCache = ue.newCache(1, split);
    this.edgeCache = edge.newCache(split + 1, layers);
  }

  public SplitRunner(InferenceEngine engine, int split) {
    this(engine, engine, split);
  }

  public int split() {
    return split;
  }

  /** Positions processed so far. */
  public int length() {
    return edgeCache.length();
  }

  /** Appends {@code ids} to the sequence and returns their logits [T, vocab]. */
  public float[] forward(int[] ids) {
    int t = ids.length;
    float[] h = ue.embed(ids);
    h = ue.runLayers(1, split, h, t, ueCache);
    h = edge.runLayers(split + 1, ue.config().numLayers(), h, t, edgeCache);
    return edge.head(h, t);
  }

  /** Rolls the sequence back to its first {@code length} positions (a rejected speculation). */
  public void truncate(int length) {
    ueCache.truncate(length);
    edgeCache.truncate(length);
  }

  /** Forgets the sequence. */
  public void reset() {
    ueCache.truncate(0);
    edgeCache.truncate(0);
  }

  /** Greedy decoding with the KV cache: the prompt in one pass, then one token per step. */
  public static int[] greedy(InferenceEngine engine, int split, int[] prompt, int newTokens) {
    try (SplitRunner r = new SplitRunner(engine, split)) {
      int v = engine.config().vocabSize();
      float[] logits = r.forward(prompt);
      int[] out = new int[newTokens];
      int next = Logits.argmax(logits, (prompt.length - 1) * v, v);
      for (int i = 0; i < newTokens; i++) {
        out[i] = next;
        if (i + 1 < newTokens) {
          next = Logits.argmax(r.forward(new int[] {next}), 0, v);
        }
      }
      return out;
    }
  }

  /** Greedy decoding without a cache: every step recomputes the whole prefix. */
  public static int[] greedyRecompute(InferenceEngine engine, int[] prompt, int newTokens) {
    int v = engine.config().vocabSize();
    int[] seq = java.util.Arrays.copyOf(prompt, prompt.length + newTokens);
    for (int i = 0; i < newTokens; i++) {
      int len = prompt.length + i;
      try (SplitRunner r = new SplitRunner(engine, 0)) {
        float[] logits = r.forward(java.util.Arrays.copyOf(seq, len));
        seq[len] = Logits.argmax(logits, (len - 1) * v, v);
      }
    }
    return java.util.Arrays.copyOfRange(seq, prompt.length, seq.length);
  }

  @Override
  public void close() {
    ueCache.close();
    edgeCache.close();
  }
}
