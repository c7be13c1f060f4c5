package io.splitinfer.model.vector;

import io.splitinfer.model.engine.ArrayKvCache;
import io.splitinfer.model.engine.Embeddings;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.ModelConfig;
import java.util.List;

/**
 * A float32 decoder on the JDK Vector API: the same computation as the {@code ReferenceEngine}
 * (Hugging Face {@code LlamaForCausalLM}: RMSNorm, rotate_half RoPE, grouped-query causal
 * attention, SwiGLU, tied or untied head), written for the decode step of a small model, where ONNX
 * Runtime spends more time around its ~40 nodes per layer than in them:
 *
 * <ul>
 *   <li>four weight passes per layer (q|k|v, o, gate|up, down), each a SIMD dot product per weight
 *       row, rows spread over the threads of a {@link RowPool} whose hand-offs cost ~1 µs;
 *   <li>attention reads the {@link ArrayKvCache} in place (no per-token copy of the past);
 *   <li>results do not depend on the thread count or on how many tokens a call runs: each output
 *       element has one fixed sequence of operations, so a split is token for token the monolithic
 *       model and a speculative round's rows equal its single steps.
 * </ul>
 *
 * <p>Needs {@code --add-modules jdk.incubator.vector} on the JVM (see {@link #available}).
 * Thread-safe for calls on different caches (a call that finds the pool busy runs on its own
 * thread).
 */
public final class VectorEngine implements InferenceEngine {
  /** Rows per chunk of the pool: a multiple of {@link PackedMatrix#BLOCK}. */
  private static final int ROWS_PER_CHUNK = 32;

  private final ModelConfig config;
  private final VectorWeights w;
  private final RowPool pool;
  private final float[] invFreq;

  /** An engine over weights in memory, with {@code threads} threads for the weight products. */
  public VectorEngine(VectorWeights weights, int threads) {
    if (!available()) {
      throw new IllegalStateException(
          "the vector engine needs the JDK's Vector API: run java with --add-modules"
              + " jdk.incubator.vector");
    }
    this.config = weights.config();
    this.w = weights;
    this.pool = new RowPool(threads);
    this.invFreq = config.ropeScaling().inverseFrequencies(config.ropeTheta(), config.headDim());
  }

  /** Whether this JVM resolved the Vector API module (it is an incubator module in JDK 17). */
  public static boolean available() {
    return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
  }

  public int threads() {
    return pool.threads();
  }

  @Override
  public ModelConfig config() {
    return config;
  }

  @Override
  public float[] embed(int[] tokenIds) {
    return Embeddings.lookup(w.embedding()::copyRow, config, tokenIds);
  }

  @Override
  public KvCache newCache(int firstLayer, int lastLayer) {
    return new ArrayKvCache(config.numKvHeads(), config.headDim(), firstLayer, lastLayer);
  }

  @Override
  public float[] runLayers(int fromLayer, int toLayer, float[] hidden, int tokens, KvCache cache) {
    ArrayKvCache kv = check(fromLayer, toLayer, hidden, tokens, cache);
    int start = kv.beginRun(fromLayer, toLayer, tokens);
    float[] x = hidden.clone();
    LayerStep step = LayerStep.sequence(config, pool, kv, start, tokens, invFreq);
    for (int l = fromLayer; l <= toLayer; l++) {
      step.run(w.layer(l), l, x);
    }
    kv.endRun(start, tokens);
    return x;
  }

  /**
   * Batched decode: at each layer the sessions whose range holds it run it together (their rows
   * stacked, each block of four weight rows read from memory once), each against its own cache.
   * Every output is bit-identical to the same step run alone. Nothing runs unless every item is
   * valid.
   */
  @Override
  public List<float[]> runLayersBatch(List<BatchItem> items) {
    int n = items.size();
    ArrayKvCache[] caches = new ArrayKvCache[n];
    int[] start = new int[n];
    float[][] x = new float[n][];
    int lo = Integer.MAX_VALUE;
    int hi = Integer.MIN_VALUE;
    for (int i = 0; i < n; i++) {
      BatchItem it = items.get(i);
      caches[i] = check(it.fromLayer(), it.toLayer(), it.hidden(), 1, it.cache());
      for (int j = 0; j < i; j++) {
        if (caches[j] == caches[i]) {
          throw new IllegalArgumentException("items " + j + " and " + i + " share one cache");
        }
      }
      start[i] = caches[i].beginRun(it.fromLayer(), it.toLayer(), 1);
      x[i] = it.hidden().clone();
      if (it.fromLayer() <= it.toLayer()) {
        lo = Math.min(lo, it.fromLayer());
        hi = Math.max(hi, it.toLayer());
      }
    }
    int d = config.hiddenSize();
    for (int l = lo; l <= hi; l++) {
      int active = 0;
      for (BatchItem it : items) {
        active += it.fromLayer() <= l && l <= it.toLayer() ? 1 : 0;
      }
      ArrayKvCache[] rowCaches = new ArrayKvCache[active];
      int[] rowPos = new int[active];
      int[] who = new int[active];
      float[] rows = new float[active * d];
      for (int i = 0, r = 0; i < n; i++) {
        BatchItem it = items.get(i);
        if (it.fromLayer() <= l && l <= it.toLayer()) {
          rowCaches[r] = caches[i];
          rowPos[r] = start[i];
          who[r] = i;
          System.arraycopy(x[i], 0, rows, r * d, d);
          r++;
        }
      }
      LayerStep.batch(config, pool, rowCaches, rowPos, invFreq).run(w.layer(l), l, rows);
      for (int r = 0; r < active; r++) {
        System.arraycopy(rows, r * d, x[who[r]], 0, d);
      }
    }
    for (int i = 0; i < n; i++) {
      caches[i].endRun(start[i], 1);
    }
    return List.of(x);
  }

  /** The checks of a run: this engine's cache, T x d floats, layers within the model. */
  private ArrayKvCache check(
      int fromLayer, int toLayer, float[] hidden, int tokens, KvCache cache) {
    if (!(cache instanceof ArrayKvCache kv)) {
      throw new IllegalArgumentException("cache was not made by this engine: " + cache);
    }
    checkHidden(hidden, tokens);
    for (int l = fromLayer; l <= toLayer; l++) {
      if (l < 1 || l > config.numLayers()) {
        throw new IllegalArgumentException("layer " + l + " outside 1.." + config.numLayers());
      }
    }
    return kv;
  }

  /** Refuses hidden states that are not T x d floats. */
  private void checkHidden(float[] hidden, int tokens) {
    int d = config.hiddenSize();
    if (tokens < 1 || hidden == null || hidden.length != tokens * d) {
      throw new IllegalArgumentException(
          "hidden has "
              + (hidden == null ? 0 : hidden.length)
              + " floats, expected "
              + tokens
              + " x "
              + d);
    }
  }

  @Override
  public float[] head(float[] hidden, int tokens) {
    checkHidden(hidden, tokens);
    int d = config.hiddenSize();
    int vocab = config.vocabSize();
    float[] h = new float[hidden.length];
    for (int t = 0; t < tokens; t++) {
      Kernels.rmsNorm(hidden, t * d, w.finalNorm(), config.rmsNormEps(), h, t * d, d);
    }
    float[] logits = new float[tokens * vocab];
    PackedMatrix head = w.lmHead();
    pool.forRange(
        vocab, ROWS_PER_CHUNK * 4, (o0, o1) -> Kernels.linear(h, tokens, head, logits, o0, o1));
    return logits;
  }

  @Override
  public void close() {
    pool.close();
  }
}
