package io.splitinfer.model.checkpoint;

import io.splitinfer.model.engine.ModelConfig;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A Hugging Face Llama checkpoint directory: {@code config.json} plus safetensors weights. Reads
 * weights by layer, checking every shape against the config.
 */
public final class Checkpoint implements AutoCloseable {
  private final Path dir;
  private final ModelConfig config;
  private final SafeTensorsReader tensors;

  private Checkpoint(Path dir, ModelConfig config, SafeTensorsReader tensors) {
    this.dir = dir;
    this.config = config;
    this.tensors = tensors;
  }

  public static Checkpoint open(Path dir) throws IOException {
    ModelConfig config = LlamaConfigIo.read(dir);
    SafeTensorsReader r = SafeTensorsReader.open(dir);
    try {
      if (!r.contains(LlamaWeights.EMBED)) {
        throw new IOException(dir + ": checkpoint lacks " + LlamaWeights.EMBED);
      }
      if (!config.tiedEmbeddings() && !r.contains(LlamaWeights.LM_HEAD)) {
        throw new IOException(
            dir
                + ": tie_word_embeddings is false but the checkpoint lacks "
                + LlamaWeights.LM_HEAD);
      }
      return new Checkpoint(dir, config, r);
    } catch (IOException | RuntimeException e) {
      r.close();
      throw e;
    }
  }

  public Path dir() {
    return dir;
  }

  public ModelConfig config() {
    return config;
  }

  public SafeTensorsReader tensors() {
    return tensors;
  }

  /** The stored dtype of the embedding (taken as the checkpoint's dtype). */
  public DType dtype() {
    return tensors.info(LlamaWeights.EMBED).dtype();
  }

  /** [vocab, d]. */
  public float[] embedding() {
    return tensors.floats(LlamaWeights.EMBED, config.vocabSize(), config.hiddenSize());
  }

  /** [vocab, d]: lm_head.weight, or the embedding when tied. */
  public float[] lmHead() {
    if (config.tiedEmbeddings() || !tensors.contains(LlamaWeights.LM_HEAD)) {
      return embedding();
    }
    return tensors.floats(LlamaWeights.LM_HEAD, config.vocabSize(), config.hiddenSize());
  }

  public float[] finalNorm() {
    return tensors.floats(LlamaWeights.NORM, config.hiddenSize());
  }

  /** The weights of decoder layer {@code layer} (1-based), in HF [out, in] layout. */
  public LayerWeights layer(int layer) {
    if (layer < 1 || layer > config.numLayers()) {
      throw new IllegalArgumentException("layer " + layer + " outside 1.." + config.numLayers());
    }
    int d = config.hiddenSize();
    int f = config.intermediateSize();
    return new LayerWeights(
        tensors.floats(LlamaWeights.layer(layer, LlamaWeights.INPUT_NORM), d),
        tensors.floats(LlamaWeights.layer(layer, LlamaWeights.Q), config.qDim(), d),
        tensors.floats(LlamaWeights.layer(layer, LlamaWeights.K), config.kvDim(), d),
        tensors.floats(LlamaWeights.layer(layer, LlamaWeights.V), config.kvDim(), d),
        tensors.floats(LlamaWeights.layer(layer, LlamaWeights.O), d, config.qDim()),
        tensors.floats(LlamaWeights.layer(layer, LlamaWeights.POST_NORM), d),
        tensors.floats(LlamaWeights.layer(layer, LlamaWeights.GATE), f, d),
        tensors.floats(LlamaWeights.layer(layer, LlamaWeights.UP), f, d),
        tensors.floats(LlamaWeights.layer(layer, LlamaWeights.DOWN), d, f));
  }

  /**
   * One decoder layer's weights, float32, Hugging Face [out, in] row-major layout.
   *
   * @param inputNorm [d]
   * @param q [heads*hd, d]
   * @param k [kvHeads*hd, d]
   * @param v [kvHeads*hd, d]
   * @param o [d, heads*hd]
   * @param postNorm [d]
   * @param gate [inter, d]
   * @param up [inter, d]
   * @param down [d, inter]
   */
  public record LayerWeights(
      float[] inputNorm,
      float[] q,
      float[] k,
      float[] v,
      float[] o,
      float[] postNorm,
      float[] gate,
      float[] up,
      float[] down) {

    /** q, k and v rows as one [(heads + 2 kvHeads) * hd, d] projection (q first). */
    public float[] qkv() {
      return rows(q, k, v);
    }

    /** gate and up rows as one [2 * inter, d] projection (gate first). */
    public float[] gateUp() {
      return rows(gate, up);
    }

    private static float[] rows(float[]... parts) {
      int n = 0;
      for (float[] p : parts) {
        n += p.length;
      }
      float[] out = new float[n];
      int at = 0;
      for (float[] p : parts) {
        System.arraycopy(p, 0, out, at, p.length);
        at += p.length;
      }
      return out;
    }
  }

  @Override
  public void close() {
    tensors.close();
  }
}
