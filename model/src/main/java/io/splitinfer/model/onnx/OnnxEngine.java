package io.splitinfer.model.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.pkg.ModelPackage;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link InferenceEngine} on ONNX Runtime over the parts of a {@link ModelPackage}. One session per
 * part ({@link PartSessions}: created at open with {@link OnnxOptions#preload()}, else on first
 * use, dims checked against the manifest), plus merged sessions of the layer ranges that run
 * ({@link FusedRanges}: a range of several layers becomes one call once its merged session is built
 * in the background). The calls themselves are in {@link LayerCalls}. Thread-safe for calls on
 * different caches.
 */
public final class OnnxEngine implements InferenceEngine {
  private static final Logger LOG = LoggerFactory.getLogger(OnnxEngine.class);

  private final OrtEnvironment env;
  private final ModelPackage pkg;
  private final ModelConfig config;
  private final OrtSession.SessionOptions sessionOptions;
  private final String provider;
  private final int prefillChunk;

  private final PartSessions parts;

  private final OnnxBatch batch;
  private final LayerCalls calls;
  private final FusedRanges fused;

  private final DirectInputs inputs = new DirectInputs();

  private OnnxEngine(
      OrtEnvironment env,
      ModelPackage pkg,
      OrtSession.SessionOptions so,
      String provider,
      int prefillChunk,
      long fuseMaxBytes) {
    this.env = env;
    this.prefillChunk = prefillChunk;
    this.pkg = pkg;
    this.config = pkg.config();
    this.sessionOptions = so;
    this.provider = provider;
    this.parts = new PartSessions(env, pkg, so);
    this.batch = new OnnxBatch(env, config, inputs);
    this.calls = new LayerCalls(env, config, inputs);
    this.fused = new FusedRanges(env, so, pkg, fuseMaxBytes);
  }

  /** Opens an engine over a verified package. */
  public static OnnxEngine open(ModelPackage pkg, OnnxOptions options) {
    OrtEnvironment env = OrtEnvironments.get();
    OrtSession.SessionOptions so = new OrtSession.SessionOptions();
    String provider = "CPU";
    try {
      if (options.intraOpThreads() > 0) {
        so.setIntraOpNumThreads(options.intraOpThreads());
      }
      if (!options.spinning()) {
        // idle worker threads sleep instead of spinning: far better on a shared, loaded CPU
        so.addConfigEntry("session.intra_op.allow_spinning", "0");
        so.addConfigEntry("session.inter_op.allow_spinning", "0");
      }
      so.setCPUArenaAllocator(options.cpuArena());
      if (options.profilePrefix() != null) {
        so.enableProfiling(options.profilePrefix());
      }
      so.setMemoryPatternOptimization(false);
      if (options.interOpThreads() > 0) {
        so.setInterOpNumThreads(options.interOpThreads());
      }
      if (options.cuda()) {
        try {
          so.addCUDA(0);
          provider = "CUDA";
        } catch (OrtException | RuntimeException | UnsatisfiedLinkError e) {
          LOG.warn(
              "CUDA execution provider unavailable ({}); running on CPU",
              e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage().strip());
        }
      }
    } catch (OrtException e) {
      so.close();
      throw new IllegalStateException("cannot configure ONNX Runtime: " + e.getMessage(), e);
    }
    OnnxEngine engine =
        new OnnxEngine(env, pkg, so, provider, options.prefillChunk(), options.fuseMaxBytes());
    if (options.preload()) {
      try {
        for (int i = 0; i <= engine.config.numLayers() + 1; i++) {
          engine.session(i);
        }
      } catch (RuntimeException e) {
        engine.close();
        throw e;
      }
    }
    return engine;
  }

  /** "CPU" or "CUDA". */
  public String provider() {
    return provider;
  }

  public ModelPackage modelPackage() {
    return pkg;
  }

  @Override
  public ModelConfig config() {
    return config;
  }

  /** Creates the sessions of layers [from, to] (and embed/head when asked) ahead of use. */
  public void warmUp(boolean embed, int fromLayer, int toLayer, boolean head) {
    if (embed) {
      session(0);
    }
    for (int l = Math.max(1, fromLayer); l <= Math.min(toLayer, config.numLayers()); l++) {
      session(l);
    }
    if (head) {
      session(config.numLayers() + 1);
    }
  }

  private OrtSession session(int index) {
    return parts.get(index);
  }

  @Override
  public float[] embed(int[] tokenIds) {
    long[] ids = new long[tokenIds.length];
    for (int i = 0; i < ids.length; i++) {
      if (tokenIds[i] < 0 || tokenIds[i] >= config.vocabSize()) {
        throw new IllegalArgumentException(
            "token id " + tokenIds[i] + " outside the vocabulary 0.." + (config.vocabSize() - 1));
      }
      ids[i] = tokenIds[i];
    }
    OrtSession s = session(0);
    try (OnnxTensor t =
            OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {ids.length});
        OrtSession.Result r = s.run(Map.of(LlamaGraphs.IDS, t))) {
      return LayerCalls.floats(r, LlamaGraphs.EMBEDDINGS, tokenIds.length * config.hiddenSize());
    } catch (OrtException e) {
      throw new IllegalStateException("embed failed: " + e.getMessage(), e);
    }
  }

  @Override
  public float[] head(float[] hidden, int tokens) {
    checkHidden(hidden, tokens);
    OrtSession s = session(config.numLayers() + 1);
    FloatBuffer in = inputs.take(hidden, hidden.length);
    try (OnnxTensor t = OnnxTensor.createTensor(env, in, new long[] {tokens, config.hiddenSize()});
        OrtSession.Result r = s.run(Map.of(LlamaGraphs.HIDDEN, t))) {
      return LayerCalls.floats(r, LlamaGraphs.LOGITS, tokens * config.vocabSize());
    } catch (OrtException e) {
      throw new IllegalStateException("head failed: " + e.getMessage(), e);
    } finally {
      inputs.give(in);
    }
  }

  private void checkHidden(float[] hidden, int tokens) {
    if (tokens <= 0 || hidden.length != tokens * config.hiddenSize()) {
      throw new IllegalArgumentException(
          "hidden has "
              + hidden.length
              + " floats, expected "
              + tokens
              + " x "
              + config.hiddenSize());
    }
  }

  @Override
  public KvCache newCache(int firstLayer, int lastLayer) {
    return new OnnxKvCache(config.numKvHeads(), config.headDim(), firstLayer, lastLayer);
  }

  @Override
  public float[] runLayers(int fromLayer, int toLayer, float[] hidden, int tokens, KvCache cache) {
    if (!(cache instanceof OnnxKvCache kv)) {
      throw new IllegalArgumentException("cache was not made by this engine: " + cache);
    }
    checkHidden(hidden, tokens);
    if (fromLayer <= toLayer && (fromLayer < 1 || toLayer > config.numLayers())) {
      throw new IllegalArgumentException(
          "layers " + fromLayer + ".." + toLayer + " outside 1.." + config.numLayers());
    }
    if (prefillChunk > 0 && tokens > prefillChunk && fromLayer <= toLayer) {
      // causal attention: chunk c through all layers, then chunk c + 1, gives the same result
      int d = config.hiddenSize();
      float[] out = new float[tokens * d];
      for (int t0 = 0; t0 < tokens; t0 += prefillChunk) {
        int n = Math.min(prefillChunk, tokens - t0);
        float[] part = Arrays.copyOfRange(hidden, t0 * d, (t0 + n) * d);
        System.arraycopy(runChunk(fromLayer, toLayer, part, n, kv), 0, out, t0 * d, n * d);
      }
      return out;
    }
    return runChunk(fromLayer, toLayer, hidden, tokens, kv);
  }

  private float[] runChunk(int fromLayer, int toLayer, float[] hidden, int tokens, OnnxKvCache kv) {
    int start = kv.beginRun(fromLayer, toLayer, tokens);
    float[] x = hidden;
    long[] pos = new long[tokens];
    for (int t = 0; t < tokens; t++) {
      pos[t] = start + t;
    }
    long[] pastLength = {start};
    try (FusedRanges.Lease f = fusedSession(fromLayer, toLayer, tokens)) {
      float[] y =
          f == null ? null : calls.fused(f, kv, fromLayer, toLayer, x, tokens, pos, pastLength);
      if (y != null) {
        x = y;
      } else {
        for (int l = fromLayer; l <= toLayer; l++) {
          OrtSession s = session(l);
          x =
              parts.inPlaceKv(l)
                  ? calls.inPlace(s, kv, l, parts.batchAxis(l), x, tokens, pos, pastLength)
                  : calls.copying(s, kv, l, x, tokens, pos, start);
        }
      }
    } catch (OrtException e) {
      throw new IllegalStateException(
          "layers " + fromLayer + ".." + toLayer + " failed: " + e.getMessage(), e);
    }
    kv.endRun(start, tokens);
    return x == hidden ? hidden.clone() : x;
  }

  /**
   * The merged session of layers [from, to] when it is ready, null otherwise. A decode step (one
   * new position) counts toward the range's build, which is scheduled when every layer of the range
   * is a parts-3 layer (KV in place, batch axis); prefill chunks do not count, so a long prompt
   * alone does not add a merged session's memory.
   */
  private FusedRanges.Lease fusedSession(int from, int to, int tokens) {
    if (to <= from) {
      return null;
    }
    FusedRanges.Lease f = fused.acquire(from, to, false);
    if (f != null || tokens > FusedRanges.COUNTED_MAX_ROWS) {
      return f;
    }
    for (int l = from; l <= to; l++) {
      session(l);
      if (!parts.inPlaceKv(l) || !parts.batchAxis(l)) {
        return null;
      }
    }
    return fused.acquire(from, to, true);
  }

  /** Whether layers [from, to] run as one merged call now (tests). */
  boolean layersMerged(int from, int to) {
    try (FusedRanges.Lease f = fused.acquire(from, to, false)) {
      return f != null;
    }
  }

  /**
   * Builds the merged session of layers [from, to] now (otherwise it is built in the background on
   * the range's first run); true when the range runs as one call from now on.
   */
  public boolean fuseLayers(int from, int to) {
    if (from < 1 || to > config.numLayers() || to <= from) {
      return false;
    }
    for (int l = from; l <= to; l++) {
      session(l);
      if (!parts.inPlaceKv(l) || !parts.batchAxis(l)) {
        return false;
      }
    }
    return fused.buildNow(from, to);
  }

  /**
   * Decode steps of several sessions, layer by layer: at layer l, the sessions whose range holds l
   * run it in one call ({@link OnnxBatch}); a layer with one such session runs as in {@link
   * #runLayers}. Parts without the batch axis (older packages) run the sessions one by one.
   */
  @Override
  public List<float[]> runLayersBatch(List<BatchItem> items) {
    List<float[]> out = batch.decode(items, parts, calls);
    return out != null ? out : InferenceEngine.super.runLayersBatch(items);
  }

  /**
   * Ends ONNX Runtime's profiling of every session created so far (per part and merged ranges) and
   * returns their trace files (with {@link OnnxOptions#profilePrefix()} set; empty otherwise).
   */
  public List<Path> endProfiling() {
    List<Path> files = new ArrayList<>();
    List<OrtSession> all = new ArrayList<>(fused.sessions());
    all.addAll(parts.open());
    for (OrtSession s : all) {
      try {
        String f = s.endProfiling();
        if (f != null && !f.isEmpty()) {
          files.add(Path.of(f));
        }
      } catch (OrtException e) {
        LOG.debug("profiling: {}", e.getMessage());
      }
    }
    return files;
  }

  @Override
  public void close() {
    fused.close();
    parts.close();
    calls.close();
    sessionOptions.close();
    batch.close();
  }
}
