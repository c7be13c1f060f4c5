package io.splitinfer.model.reference;

import io.splitinfer.model.checkpoint.Checkpoint;
import io.splitinfer.model.engine.ArrayKvCache;
import io.splitinfer.model.engine.Embeddings;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.ModelConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Plain-Java float32 implementation of Hugging Face {@code LlamaForCausalLM}: RMSNorm, RoPE
 * (rotate_half), grouped-query causal attention, SwiGLU MLP, tied or untied LM head. The test
 * oracle of the ONNX engine; slow but exact in its semantics.
 */
public final class ReferenceEngine implements InferenceEngine {
  private final ModelConfig config;
  private final float[] embedding;
  private final float[] lmHead;
  private final float[] finalNorm;
  private final List<Checkpoint.LayerWeights> layers;
  private final float[] invFreq;

  /** An engine over weights already in memory. */
  public ReferenceEngine(
      ModelConfig config,
      float[] embedding,
      float[] lmHead,
      float[] finalNorm,
      List<Checkpoint.LayerWeights> layers) {
    if (layers.size() != config.numLayers()) {
      throw new IllegalArgumentException(
          layers.size() + " layers given, config says " + config.numLayers());
    }
    this.config = config;
    this.embedding = embedding;
    this.lmHead = lmHead;
    this.finalNorm = finalNorm;
    this.layers = List.copyOf(layers);
    this.invFreq = config.ropeScaling().inverseFrequencies(config.ropeTheta(), config.headDim());
  }

  /** Loads every weight of a Hugging Face checkpoint directory into memory as float32. */
  public static ReferenceEngine load(Path checkpointDir) throws IOException {
    try (Checkpoint ck = Checkpoint.open(checkpointDir)) {
      return load(ck);
    }
  }

  public static ReferenceEngine load(Checkpoint ck) {
    ModelConfig c = ck.config();
    List<Checkpoint.LayerWeights> ls = new ArrayList<>();
    for (int l = 1; l <= c.numLayers(); l++) {
      ls.add(ck.layer(l));
    }
    float[] emb = ck.embedding();
    float[] head = c.tiedEmbeddings() ? emb : ck.lmHead();
    return new ReferenceEngine(c, emb, head, ck.finalNorm(), ls);
  }

  @Override
  public ModelConfig config() {
    return config;
  }

  @Override
  public float[] embed(int[] tokenIds) {
    return Embeddings.lookup(embedding, config, tokenIds);
  }

  @Override
  public KvCache newCache(int firstLayer, int lastLayer) {
    return new ArrayKvCache(config.numKvHeads(), config.headDim(), firstLayer, lastLayer);
  }

  @Override
  public float[] runLayers(int fromLayer, int toLayer, float[] hidden, int tokens, KvCache cache) {
    ArrayKvCache kv = asArrayCache(cache);
    int d = config.hiddenSize();
    if (hidden.length != tokens * d) {
      throw new IllegalArgumentException(
          "hidden has " + hidden.length + " floats, expected " + tokens + " x " + d);
    }
    int start = kv.beginRun(fromLayer, toLayer, tokens);
    float[] x = hidden.clone();
    for (int l = fromLayer; l <= toLayer; l++) {
      if (l < 1 || l > config.numLayers()) {
        throw new IllegalArgumentException("layer " + l + " outside 1.." + config.numLayers());
      }
      x = layer(l, x, tokens, start, kv);
    }
    kv.endRun(start, tokens);
    return x;
  }

  private static ArrayKvCache asArrayCache(KvCache cache) {
    if (cache instanceof ArrayKvCache a) {
      return a;
    }
    throw new IllegalArgumentException("cache was not made by this engine: " + cache);
  }

  private float[] layer(int l, float[] x, int tokens, int start, ArrayKvCache kv) {
    ModelConfig c = config;
    Checkpoint.LayerWeights w = layers.get(l - 1);
    int d = c.hiddenSize();
    int hd = c.headDim();
    int nh = c.numHeads();
    int nkv = c.numKvHeads();
    int group = c.groupSize();
    float[] h = Ops.rmsNorm(x, tokens, d, w.inputNorm(), c.rmsNormEps());
    float[] q = Ops.linear(h, tokens, d, w.q(), c.qDim());
    float[] k = Ops.linear(h, tokens, d, w.k(), c.kvDim());
    float[] v = Ops.linear(h, tokens, d, w.v(), c.kvDim());
    float[] cos = new float[hd / 2];
    float[] sin = new float[hd / 2];
    for (int t = 0; t < tokens; t++) {
      float pos = start + t;
      for (int i = 0; i < hd / 2; i++) {
        float f = pos * invFreq[i];
        cos[i] = (float) Math.cos(f);
        sin[i] = (float) Math.sin(f);
      }
      for (int head = 0; head < nh; head++) {
        Ops.rope(q, t * c.qDim() + head * hd, hd, cos, sin);
      }
      for (int head = 0; head < nkv; head++) {
        Ops.rope(k, t * c.kvDim() + head * hd, hd, cos, sin);
      }
    }
    // [T, kvH, hd] -> [kvH, T, hd] and append
    float[] kt = new float[k.length];
    float[] vt = new float[v.length];
    for (int t = 0; t < tokens; t++) {
      for (int g = 0; g < nkv; g++) {
        System.arraycopy(k, t * c.kvDim() + g * hd, kt, (g * tokens + t) * hd, hd);
        System.arraycopy(v, t * c.kvDim() + g * hd, vt, (g * tokens + t) * hd, hd);
      }
    }
    kv.put(l, start, tokens, kt, 0, vt, 0);
    float[] keys = kv.keyArray(l);
    float[] vals = kv.valueArray(l);
    int cap = kv.capacity(l);
    float[] attn = new float[tokens * c.qDim()];
    float scale = (float) Math.sqrt(hd);
    float[] scores = new float[start + tokens];
    for (int t = 0; t < tokens; t++) {
      int visible = start + t + 1;
      for (int head = 0; head < nh; head++) {
        int g = head / group;
        int qo = t * c.qDim() + head * hd;
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < visible; j++) {
          float s = Ops.dot(q, qo, keys, (g * cap + j) * hd, hd) / scale;
          scores[j] = s;
          max = Math.max(max, s);
        }
        double sum = 0;
        for (int j = 0; j < visible; j++) {
          float e = (float) Math.exp(scores[j] - max);
          scores[j] = e;
          sum += e;
        }
        float inv = (float) (1.0 / sum);
        int ao = t * c.qDim() + head * hd;
        for (int j = 0; j < visible; j++) {
          float p = scores[j] * inv;
          int vo = (g * cap + j) * hd;
          for (int i = 0; i < hd; i++) {
            attn[ao + i] += p * vals[vo + i];
          }
        }
      }
    }
    float[] o = Ops.linear(attn, tokens, c.qDim(), w.o(), d);
    for (int i = 0; i < x.length; i++) {
      x[i] += o[i];
    }
    float[] h2 = Ops.rmsNorm(x, tokens, d, w.postNorm(), c.rmsNormEps());
    int f = c.intermediateSize();
    float[] gate = Ops.linear(h2, tokens, d, w.gate(), f);
    float[] up = Ops.linear(h2, tokens, d, w.up(), f);
    for (int i = 0; i < gate.length; i++) {
      gate[i] = Ops.silu(gate[i]) * up[i];
    }
    float[] down = Ops.linear(gate, tokens, f, w.down(), d);
    for (int i = 0; i < x.length; i++) {
      x[i] += down[i];
    }
    return x;
  }

  @Override
  public float[] head(float[] hidden, int tokens) {
    int d = config.hiddenSize();
    float[] h = Ops.rmsNorm(hidden, tokens, d, finalNorm, config.rmsNormEps());
    return Ops.linear(h, tokens, d, lmHead, config.vocabSize());
  }

  @Override
  public void close() {
    // heap only
  }
}
