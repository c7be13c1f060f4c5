package io.splitinfer.model.checkpoint;

import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.engine.RopeScaling;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Writes a Hugging Face Llama checkpoint with random weights of any dimensions: {@code config.json}
 * and safetensors (optionally sharded). Matrices are N(0, 1/fan_in) so activations stay O(1)
 * through any depth; RMSNorm weights are 1 + N(0, 0.1^2). Deterministic in the seed.
 *
 * @param config dimensions
 * @param dtype stored element type
 * @param seed random seed
 * @param shards 1 for a single {@code model.safetensors}, more for an index plus shards
 */
public record RandomCheckpoint(ModelConfig config, DType dtype, long seed, int shards) {

  /** TinyLlama-1.1B dimensions (22 layers, d 2048, 32 heads, 4 KV heads, vocab 32000). */
  public static ModelConfig tinyLlama11b() {
    return new ModelConfig(
        22, 2048, 5632, 32, 4, 64, 32000, 2048, 1e-5, 10000.0, false, 1, 2, RopeScaling.NONE);
  }

  /** Llama-2-7B dimensions. */
  public static ModelConfig llama2_7b() {
    return new ModelConfig(
        32, 4096, 11008, 32, 32, 128, 32000, 4096, 1e-5, 10000.0, false, 1, 2, RopeScaling.NONE);
  }

  /** A tiny config for tests. */
  public static ModelConfig tiny(int layers, boolean tied) {
    return new ModelConfig(
        layers, 32, 64, 4, 2, 8, 97, 256, 1e-5, 10000.0, tied, 1, 2, RopeScaling.NONE);
  }

  /** Writes config.json and the weights into {@code dir}. */
  public void write(Path dir) throws IOException {
    LlamaConfigIo.write(config, dir);
    SafeTensorsWriter.writeCheckpoint(dir, entries(), shards);
  }

  /** The tensors in Hugging Face naming. */
  public List<SafeTensorsWriter.Entry> entries() {
    ModelConfig c = config;
    long d = c.hiddenSize();
    long f = c.intermediateSize();
    List<SafeTensorsWriter.Entry> e = new ArrayList<>();
    e.add(matrix(LlamaWeights.EMBED, c.vocabSize(), d, 1.0));
    for (int l = 1; l <= c.numLayers(); l++) {
      e.add(norm(LlamaWeights.layer(l, LlamaWeights.INPUT_NORM), d));
      e.add(matrix(LlamaWeights.layer(l, LlamaWeights.Q), c.qDim(), d, 1 / Math.sqrt(d)));
      e.add(matrix(LlamaWeights.layer(l, LlamaWeights.K), c.kvDim(), d, 1 / Math.sqrt(d)));
      e.add(matrix(LlamaWeights.layer(l, LlamaWeights.V), c.kvDim(), d, 1 / Math.sqrt(d)));
      e.add(matrix(LlamaWeights.layer(l, LlamaWeights.O), d, c.qDim(), 1 / Math.sqrt(c.qDim())));
      e.add(norm(LlamaWeights.layer(l, LlamaWeights.POST_NORM), d));
      e.add(matrix(LlamaWeights.layer(l, LlamaWeights.GATE), f, d, 1 / Math.sqrt(d)));
      e.add(matrix(LlamaWeights.layer(l, LlamaWeights.UP), f, d, 1 / Math.sqrt(d)));
      e.add(matrix(LlamaWeights.layer(l, LlamaWeights.DOWN), d, f, 1 / Math.sqrt(f)));
    }
    e.add(norm(LlamaWeights.NORM, d));
    if (!c.tiedEmbeddings()) {
      e.add(matrix(LlamaWeights.LM_HEAD, c.vocabSize(), d, 1 / Math.sqrt(d)));
    }
    return e;
  }

  private SafeTensorsWriter.Entry matrix(String name, long rows, long cols, double std) {
    return new SafeTensorsWriter.Entry(
        name, dtype, new long[] {rows, cols}, () -> gaussian(name, rows * cols, 0.0, std));
  }

  private SafeTensorsWriter.Entry norm(String name, long n) {
    return new SafeTensorsWriter.Entry(
        name, dtype, new long[] {n}, () -> gaussian(name, n, 1.0, 0.1));
  }

  private float[] gaussian(String name, long n, double mean, double std) {
    float[] v = new float[Math.toIntExact(n)];
    int chunk = 1 << 16;
    int chunks = (v.length + chunk - 1) / chunk;
    long base = seed * 0x9E3779B97F4A7C15L + name.hashCode();
    IntStream.range(0, chunks)
        .parallel()
        .forEach(
            ci -> {
              SplittableRandom r = new SplittableRandom(base + 0x632BE59BD9B4E019L * (ci + 1));
              int end = Math.min(v.length, (ci + 1) * chunk);
              for (int i = ci * chunk; i < end; i++) {
                v[i] = (float) (mean + std * r.nextGaussian());
              }
            });
    return v;
  }
}
