package io.splitinfer.model.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import io.splitinfer.model.engine.ModelConfig;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * Reused output tensors of one-token runs (decode steps) of merged layer ranges: ONNX Runtime
 * writes {@code hidden_out} and every layer's {@code key / value} into these direct buffers
 * ("pinned outputs") instead of allocating each output, and the Java API creating an object per
 * output, on every call. One set per range and concurrent run, taken and given back around a run;
 * at most {@value #MAX_POOLED} idle sets are kept per range. Thread-safe.
 */
final class PinnedOutputs implements AutoCloseable {
  static final int MAX_POOLED = 4;

  private final OrtEnvironment env;
  private final ModelConfig config;
  private final Map<Long, ConcurrentLinkedDeque<Set>> pools = new ConcurrentHashMap<>();

  PinnedOutputs(OrtEnvironment env, ModelConfig config) {
    this.env = env;
    this.config = config;
  }

  /** The outputs of one decode step of layers [from, to]: name -> tensor, and their buffers. */
  static final class Set {
    final Map<String, OnnxValue> outputs = new HashMap<>();
    final Map<String, FloatBuffer> buffers = new HashMap<>();
    final float[] keys;
    final float[] values;

    private Set(int kvFloats) {
      keys = new float[kvFloats];
      values = new float[kvFloats];
    }

    /** Copies output {@code name} into {@code dst}. */
    float[] read(String name, float[] dst) {
      FloatBuffer b = buffers.get(name);
      b.get(0, dst, 0, dst.length);
      return dst;
    }

    void close() {
      for (OnnxValue v : outputs.values()) {
        v.close();
      }
    }
  }

  Set take(int from, int to) throws OrtException {
    ConcurrentLinkedDeque<Set> pool =
        pools.computeIfAbsent(((long) from << 32) | to, k -> new ConcurrentLinkedDeque<>());
    Set s = pool.poll();
    return s != null ? s : create(from, to);
  }

  void give(int from, int to, Set s) {
    ConcurrentLinkedDeque<Set> pool = pools.get(((long) from << 32) | to);
    if (pool != null && pool.size() < MAX_POOLED) {
      pool.push(s);
    } else {
      s.close();
    }
  }

  private Set create(int from, int to) throws OrtException {
    int d = config.hiddenSize();
    int kv = config.numKvHeads() * config.headDim();
    Set s = new Set(kv);
    try {
      add(s, LlamaGraphs.HIDDEN_OUT, new long[] {1, d});
      long[] entry = {1, config.numKvHeads(), 1, config.headDim()};
      for (int l = from; l <= to; l++) {
        add(s, LayerFusion.key(l), entry);
        add(s, LayerFusion.value(l), entry);
      }
    } catch (OrtException | RuntimeException e) {
      s.close();
      throw e;
    }
    return s;
  }

  private void add(Set s, String name, long[] shape) throws OrtException {
    int n = 1;
    for (long x : shape) {
      n *= (int) x;
    }
    FloatBuffer b =
        ByteBuffer.allocateDirect(n * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
    s.outputs.put(name, OnnxTensor.createTensor(env, b, shape));
    s.buffers.put(name, b);
  }

  @Override
  public void close() {
    for (ConcurrentLinkedDeque<Set> pool : pools.values()) {
      for (Set s; (s = pool.poll()) != null; ) {
        s.close();
      }
    }
  }
}
