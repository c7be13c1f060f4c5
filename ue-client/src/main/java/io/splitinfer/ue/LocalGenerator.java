package io.splitinfer.ue;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.Logits;
import java.util.Arrays;

/**
 * The whole model in one process: embed, layers 1..L with one KV cache, head, greedy argmax. The
 * baseline that split generation must equal token for token, and the monolithic side of the
 * benchmark. Prefill uses the same chunking as the split path so both do identical arithmetic.
 */
public final class LocalGenerator {
  private final InferenceEngine engine;

  public LocalGenerator(InferenceEngine engine) {
    this.engine = engine;
  }

  /** Result of one local generation with timings. */
  public record Result(int[] tokens, long prefillNanos, long[] decodeStepNanos) {}

  /** Greedy generation of {@code newTokens} tokens (prefill in chunks of {@code chunk} rows). */
  public Result greedy(int[] prompt, int newTokens, int chunk) {
    int layers = engine.config().numLayers();
    int vocab = engine.config().vocabSize();
    int d = engine.config().hiddenSize();
    int[] out = new int[newTokens];
    long[] steps = new long[Math.max(0, newTokens - 1)];
    try (KvCache cache = engine.newCache(1, layers)) {
      long t0 = System.nanoTime();
      float[] last = null;
      for (int from = 0; from < prompt.length; from += chunk) {
        int to = Math.min(prompt.length, from + chunk);
        float[] h =
            engine.runLayers(
                1, layers, engine.embed(Arrays.copyOfRange(prompt, from, to)), to - from, cache);
        last = Arrays.copyOfRange(h, (to - from - 1) * d, (to - from) * d);
      }
      out[0] = Logits.argmax(engine.head(last, 1), 0, vocab);
      long t1 = System.nanoTime();
      for (int i = 1; i < newTokens; i++) {
        long s = System.nanoTime();
        float[] h = engine.runLayers(1, layers, engine.embed(new int[] {out[i - 1]}), 1, cache);
        out[i] = Logits.argmax(engine.head(h, 1), 0, vocab);
        steps[i - 1] = System.nanoTime() - s;
      }
      return new Result(out, t1 - t0, steps);
    }
  }

  /** Log-probabilities of tokens[i+1] given tokens[..i], i in [firstScored, n-2], in one pass. */
  public float[] targetLogprobs(int[] tokens, int firstScored, int chunk) {
    int layers = engine.config().numLayers();
    int vocab = engine.config().vocabSize();
    int inputs = tokens.length - 1;
    float[] out = new float[inputs - firstScored];
    try (KvCache cache = engine.newCache(1, layers)) {
      for (int from = 0; from < inputs; from += chunk) {
        int to = Math.min(inputs, from + chunk);
        int t = to - from;
        float[] logits =
            engine.head(
                engine.runLayers(
                    1, layers, engine.embed(Arrays.copyOfRange(tokens, from, to)), t, cache),
                t);
        for (int i = from; i < to; i++) {
          if (i >= firstScored) {
            out[i - firstScored] =
                (float) Logits.logProb(logits, (i - from) * vocab, vocab, tokens[i + 1]);
          }
        }
      }
    }
    return out;
  }
}
