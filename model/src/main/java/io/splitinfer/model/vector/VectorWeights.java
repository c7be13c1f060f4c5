package io.splitinfer.model.vector;

import io.splitinfer.model.checkpoint.Checkpoint;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.onnx.PartWeights;
import io.splitinfer.model.pkg.ModelPackage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The float32 weights of {@link VectorEngine}, in Hugging Face [out, in] layout with the products
 * of one input merged (q|k|v, gate|up) so that each is one pass over its rows.
 *
 * @param embedding [vocab, d]
 * @param lmHead [vocab, d] (the embedding itself when tied)
 * @param finalNorm [d]
 * @param layers layer 1 first
 */
public record VectorWeights(
    ModelConfig config, float[] embedding, float[] lmHead, float[] finalNorm, List<Layer> layers) {

  /**
   * One decoder layer.
   *
   * @param qkv [(heads + 2 kvHeads) * headDim, d]: the q rows, then k, then v
   * @param o [d, heads * headDim]
   * @param gateUp [2 * intermediate, d]: the gate rows, then up
   * @param down [d, intermediate]
   */
  public record Layer(
      float[] inputNorm, float[] qkv, float[] o, float[] postNorm, float[] gateUp, float[] down) {}

  public VectorWeights {
    if (layers.size() != config.numLayers()) {
      throw new IllegalArgumentException(
          layers.size() + " layers given, config says " + config.numLayers());
    }
    layers = List.copyOf(layers);
  }

  /** From a Hugging Face checkpoint (every weight decoded to float32). */
  public static VectorWeights of(Checkpoint ck) {
    ModelConfig c = ck.config();
    List<Layer> ls = new ArrayList<>();
    for (int l = 1; l <= c.numLayers(); l++) {
      Checkpoint.LayerWeights w = ck.layer(l);
      ls.add(new Layer(w.inputNorm(), w.qkv(), w.o(), w.postNorm(), w.gateUp(), w.down()));
    }
    float[] emb = ck.embedding();
    return new VectorWeights(c, emb, c.tiedEmbeddings() ? emb : ck.lmHead(), ck.finalNorm(), ls);
  }

  /** From a converted package with float (f32 or f16) parts. */
  public static VectorWeights of(ModelPackage pkg) throws IOException {
    ModelConfig c = pkg.config();
    int d = c.hiddenSize();
    int f = c.intermediateSize();
    int qkvRows = c.qDim() + 2 * c.kvDim();
    List<Layer> ls = new ArrayList<>();
    for (int l = 1; l <= c.numLayers(); l++) {
      PartWeights p = PartWeights.read(pkg.layerPart(l));
      ls.add(
          new Layer(
              p.floats("input_norm"),
              p.projection("qkv", qkvRows, d),
              p.projection("o", d, c.qDim()),
              p.floats("post_norm"),
              p.projection("gate_up", 2 * f, d),
              p.projection("down", d, f)));
    }
    float[] emb = PartWeights.read(pkg.embedPart()).floats("embed_tokens");
    PartWeights head = PartWeights.read(pkg.headPart());
    return new VectorWeights(
        c, emb, head.projection("lm_head", c.vocabSize(), d), head.floats("norm"), ls);
  }
}
