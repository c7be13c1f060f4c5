package io.splitinfer.model.vector;

import io.splitinfer.model.checkpoint.Checkpoint;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.onnx.PartWeights;
import io.splitinfer.model.onnx.WeightFormat;
import io.splitinfer.model.pkg.ModelPackage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The float32 weights of {@link VectorEngine}: each matrix in Hugging Face [out, in] orientation,
 * packed for the kernels ({@link PackedMatrix}), with the products of one input merged (q|k|v,
 * gate|up) so that each is one pass over its rows. The embedding, the final norm and the LM head
 * are held from the start; a decoder layer is read on its first use ({@link #layer}) when the
 * weights come from a package, so a UE that runs layers 1..p holds those p layers only, and an edge
 * the layers after the splits it has served.
 */
public final class VectorWeights {
  /**
   * One decoder layer.
   *
   * @param qkv [(heads + 2 kvHeads) * headDim, d]: the q rows, then k, then v
   * @param o [d, heads * headDim]
   * @param gateUp [2 * intermediate, d]: the gate rows, then up
   * @param down [d, intermediate]
   */
  record Layer(
      float[] inputNorm,
      PackedMatrix qkv,
      PackedMatrix o,
      float[] postNorm,
      PackedMatrix gateUp,
      PackedMatrix down) {

    /** A layer from plain row-major matrices (packed here). */
    static Layer of(
        ModelConfig c,
        float[] inputNorm,
        float[] qkv,
        float[] o,
        float[] postNorm,
        float[] gateUp,
        float[] down) {
      int d = c.hiddenSize();
      int f = c.intermediateSize();
      return new Layer(
          inputNorm,
          PackedMatrix.pack(qkv, c.qDim() + 2 * c.kvDim(), d),
          PackedMatrix.pack(o, d, c.qDim()),
          postNorm,
          PackedMatrix.pack(gateUp, 2 * f, d),
          PackedMatrix.pack(down, d, f));
    }
  }

  /** Reads layer l (1-based). */
  @FunctionalInterface
  interface LayerSource {
    Layer read(int layer) throws IOException;
  }

  private final ModelConfig config;
  private final PackedMatrix embedding;
  private final PackedMatrix lmHead;
  private final float[] finalNorm;
  private final LayerSource source;
  private final AtomicReferenceArray<Layer> layers;

  VectorWeights(
      ModelConfig config,
      float[] embedding,
      float[] lmHead,
      float[] finalNorm,
      LayerSource source) {
    this.config = config;
    int d = config.hiddenSize();
    int vocab = config.vocabSize();
    this.embedding = PackedMatrix.pack(embedding, vocab, d);
    // tied: one packed array serves the lookup and the head
    this.lmHead = lmHead == embedding ? this.embedding : PackedMatrix.pack(lmHead, vocab, d);
    this.finalNorm = finalNorm;
    this.source = source;
    this.layers = new AtomicReferenceArray<>(config.numLayers() + 1);
  }

  public ModelConfig config() {
    return config;
  }

  /** [vocab, d]. */
  PackedMatrix embedding() {
    return embedding;
  }

  /** [vocab, d] (the embedding itself when tied). */
  PackedMatrix lmHead() {
    return lmHead;
  }

  /** [d]. */
  public float[] finalNorm() {
    return finalNorm;
  }

  /** Decoder layer {@code l} (1-based), read on first use; one read per layer. */
  Layer layer(int l) {
    if (l < 1 || l > config.numLayers()) {
      throw new IllegalArgumentException("layer " + l + " outside 1.." + config.numLayers());
    }
    Layer w = layers.get(l);
    if (w != null) {
      return w;
    }
    synchronized (this) {
      w = layers.get(l);
      if (w == null) {
        try {
          w = source.read(l);
        } catch (IOException e) {
          throw new UncheckedIOException("layer " + l + " of the vector engine: " + e, e);
        }
        layers.set(l, w);
      }
      return w;
    }
  }

  /** How many decoder layers are held in memory. */
  public int loadedLayers() {
    int n = 0;
    for (int l = 1; l <= config.numLayers(); l++) {
      n += layers.get(l) != null ? 1 : 0;
    }
    return n;
  }

  /** From a Hugging Face checkpoint (every weight decoded to float32). */
  public static VectorWeights of(Checkpoint ck) {
    ModelConfig c = ck.config();
    List<Layer> ls = new ArrayList<>();
    for (int l = 1; l <= c.numLayers(); l++) {
      Checkpoint.LayerWeights w = ck.layer(l);
      ls.add(Layer.of(c, w.inputNorm(), w.qkv(), w.o(), w.postNorm(), w.gateUp(), w.down()));
    }
    float[] emb = ck.embedding();
    VectorWeights w =
        new VectorWeights(
            c, emb, c.tiedEmbeddings() ? emb : ck.lmHead(), ck.finalNorm(), l -> ls.get(l - 1));
    for (int l = 1; l <= c.numLayers(); l++) {
      w.layer(l);
    }
    return w;
  }

  /**
   * From a converted package with float (f32 or f16) parts: the embedding and the head now, each
   * layer on its first use. A package with quantized layers is refused here, not at first use.
   */
  public static VectorWeights of(ModelPackage pkg) throws IOException {
    ModelConfig c = pkg.config();
    for (int l = 1; l <= c.numLayers(); l++) {
      String format = pkg.manifest().layerWeightFormat(l);
      if (WeightFormat.parse(format).quantized()) {
        throw new IllegalArgumentException(
            "layer "
                + l
                + " of "
                + pkg
                + " is "
                + format
                + ": the vector engine reads float parts only, not quantized ones (convert with"
                + " --weights f32 or f16)");
      }
    }
    int d = c.hiddenSize();
    int f = c.intermediateSize();
    int qkvRows = c.qDim() + 2 * c.kvDim();
    float[] emb = PartWeights.read(pkg.embedPart()).floats("embed_tokens");
    PartWeights head = PartWeights.read(pkg.headPart());
    // a tied head part holds the embedding's own values (one source, one dtype): share the array
    return new VectorWeights(
        c,
        emb,
        c.tiedEmbeddings() ? emb : head.projection("lm_head", c.vocabSize(), d),
        head.floats("norm"),
        l -> {
          PartWeights p = PartWeights.read(pkg.layerPart(l));
          return Layer.of(
              c,
              p.floats("input_norm"),
              p.projection("qkv", qkvRows, d),
              p.projection("o", d, c.qDim()),
              p.floats("post_norm"),
              p.projection("gate_up", 2 * f, d),
              p.projection("down", d, f));
        });
  }
}
