package io.splitinfer.model.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.splitinfer.model.engine.ModelConfig;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * One ONNX Runtime call over layer parts, as {@link OnnxEngine} makes them: a layer part that reads
 * the KV buffers in place, an older part that gets a copy of the past KV, or a merged range of
 * layers ({@link LayerFusion}) that reads every layer's buffers in place. Each call appends the new
 * KV entries to the cache; the caller brackets the calls with {@code beginRun / endRun}.
 */
final class LayerCalls {
  private static final Set<String> LAYER_OUTPUTS =
      Set.of(LlamaGraphs.HIDDEN_OUT, LlamaGraphs.KEY, LlamaGraphs.VALUE);

  private final OrtEnvironment env;
  private final ModelConfig config;
  private final DirectInputs inputs;

  private final PinnedOutputs pinned;

  LayerCalls(OrtEnvironment env, ModelConfig config, DirectInputs inputs) {
    this.env = env;
    this.config = config;
    this.inputs = inputs;
    this.pinned = new PinnedOutputs(env, config);
  }

  /** Frees the reused output tensors. */
  void close() {
    pinned.close();
  }

  /** Output {@code name} of a run as a float array of {@code expected} floats. */
  static float[] floats(OrtSession.Result r, String name, int expected) {
    OnnxValue v = r.get(name).orElseThrow(() -> new IllegalStateException("no output " + name));
    FloatBuffer fb = ((OnnxTensor) v).getFloatBuffer();
    if (fb.remaining() != expected) {
      throw new IllegalStateException(
          "output " + name + " has " + fb.remaining() + " floats, expected " + expected);
    }
    float[] out = new float[expected];
    fb.get(out);
    return out;
  }

  /** Layer l of a part that reads the KV buffers in place; returns the hidden output. */
  float[] inPlace(
      OrtSession s,
      OnnxKvCache kv,
      int l,
      boolean batchAxis,
      float[] x,
      int tokens,
      long[] pos,
      long[] pastLength)
      throws OrtException {
    OnnxTensor[] past = kv.inPlace(env, l, (int) pastLength[0] + tokens, batchAxis);
    FloatBuffer in = inputs.take(x, tokens * config.hiddenSize());
    try (OnnxTensor h = OnnxTensor.createTensor(env, in, new long[] {tokens, config.hiddenSize()});
        OnnxTensor n = OnnxTensor.createTensor(env, LongBuffer.wrap(pastLength), new long[] {1});
        OnnxTensor p = OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[] {tokens});
        OrtSession.Result r =
            s.run(
                Map.of(
                    LlamaGraphs.HIDDEN, h,
                    LlamaGraphs.PAST_KEY, past[0],
                    LlamaGraphs.PAST_VALUE, past[1],
                    LlamaGraphs.PAST_LENGTH, n,
                    LlamaGraphs.POSITIONS, p),
                LAYER_OUTPUTS)) {
      store(r, kv, l, (int) pastLength[0], tokens, LlamaGraphs.KEY, LlamaGraphs.VALUE);
      return hidden(r, tokens);
    } finally {
      inputs.give(in);
    }
  }

  /** The same for parts of the older format: the first P positions are copied per call. */
  float[] copying(OrtSession s, OnnxKvCache kv, int l, float[] x, int tokens, long[] pos, int start)
      throws OrtException {
    FloatBuffer[] past = kv.pastCopy(l, start);
    long[] pastShape = {config.numKvHeads(), start, config.headDim()};
    FloatBuffer in = inputs.take(x, tokens * config.hiddenSize());
    try (OnnxTensor h = OnnxTensor.createTensor(env, in, new long[] {tokens, config.hiddenSize()});
        OnnxTensor k = OnnxTensor.createTensor(env, past[0], pastShape);
        OnnxTensor v = OnnxTensor.createTensor(env, past[1], pastShape);
        OnnxTensor p = OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[] {tokens});
        OrtSession.Result r =
            s.run(
                Map.of(
                    LlamaGraphs.HIDDEN, h,
                    LlamaGraphs.PAST_KEY, k,
                    LlamaGraphs.PAST_VALUE, v,
                    LlamaGraphs.POSITIONS, p),
                LAYER_OUTPUTS)) {
      store(r, kv, l, start, tokens, LlamaGraphs.KEY, LlamaGraphs.VALUE);
      return hidden(r, tokens);
    } finally {
      inputs.give(in);
    }
  }

  /**
   * Layers [from, to] in one call of their merged session; returns layer to's hidden output, or
   * null (nothing run) when the layers' cache buffers differ in capacity (the merged graph reads C
   * from the first layer's, see {@link LayerFusion}).
   */
  float[] fused(
      FusedRanges.Lease f,
      OnnxKvCache kv,
      int from,
      int to,
      float[] x,
      int tokens,
      long[] pos,
      long[] pastLength)
      throws OrtException {
    int start = (int) pastLength[0];
    Map<String, OnnxTensor> feed = new HashMap<>(4 + 2 * (to - from + 1) * 4 / 3 + 1);
    long capacity = -1;
    for (int l = from; l <= to; l++) {
      OnnxTensor[] past = kv.inPlace(env, l, start + tokens, true);
      long c = past[0].getInfo().getShape()[2];
      if (capacity >= 0 && c != capacity) {
        return null;
      }
      capacity = c;
      feed.put(LayerFusion.pastKey(l), past[0]);
      feed.put(LayerFusion.pastValue(l), past[1]);
    }
    FloatBuffer in = inputs.take(x, tokens * config.hiddenSize());
    try (OnnxTensor h = OnnxTensor.createTensor(env, in, new long[] {tokens, config.hiddenSize()});
        OnnxTensor n = OnnxTensor.createTensor(env, LongBuffer.wrap(pastLength), new long[] {1});
        OnnxTensor p = OnnxTensor.createTensor(env, LongBuffer.wrap(pos), new long[] {tokens})) {
      feed.put(LlamaGraphs.HIDDEN, h);
      feed.put(LlamaGraphs.PAST_LENGTH, n);
      feed.put(LlamaGraphs.POSITIONS, p);
      if (tokens == 1) {
        return fusedStep(f, feed, kv, from, to, start);
      }
      try (OrtSession.Result r = f.session.run(feed, f.outputs)) {
        for (int l = from; l <= to; l++) {
          store(r, kv, l, start, tokens, LayerFusion.key(l), LayerFusion.value(l));
        }
        return hidden(r, tokens);
      }
    } finally {
      inputs.give(in);
    }
  }

  /** A one-token run into pinned outputs (no output allocated per call). */
  private float[] fusedStep(
      FusedRanges.Lease f,
      Map<String, OnnxTensor> feed,
      OnnxKvCache kv,
      int from,
      int to,
      int start)
      throws OrtException {
    PinnedOutputs.Set out = pinned.take(from, to);
    try {
      try (OrtSession.Result r = f.session.run(feed, out.outputs)) {
        for (int l = from; l <= to; l++) {
          float[] k = out.read(LayerFusion.key(l), out.keys);
          float[] v = out.read(LayerFusion.value(l), out.values);
          kv.put(l, start, 1, k, 0, v, 0);
        }
        return out.read(LlamaGraphs.HIDDEN_OUT, new float[config.hiddenSize()]);
      }
    } finally {
      pinned.give(from, to, out);
    }
  }

  /** Appends layer l's new entries (outputs {@code key / value}) to the cache. */
  private void store(
      OrtSession.Result r, OnnxKvCache kv, int l, int start, int tokens, String key, String value) {
    int n = config.numKvHeads() * tokens * config.headDim();
    kv.put(l, start, tokens, floats(r, key, n), 0, floats(r, value, n), 0);
  }

  private float[] hidden(OrtSession.Result r, int tokens) {
    return floats(r, LlamaGraphs.HIDDEN_OUT, tokens * config.hiddenSize());
  }
}
