package io.splitinfer.edge;

import io.splitinfer.model.engine.Logits;
import io.splitinfer.proto.v1.SamplingParams;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from a row of logits: greedy (temperature 0), or temperature sampling with
 * optional top-k and top-p (nucleus) filters, driven by a seeded generator so the same seed and
 * inputs give the same tokens. Greedy and the reported log-probability are {@link Logits}' (one tie
 * rule for split and monolithic). Not thread-safe: one per session.
 */
public final class Sampler {
  /** Validated sampling parameters. */
  public record Params(float temperature, int topK, float topP, long seed) {
    public Params {
      if (!(temperature >= 0) || Float.isInfinite(temperature)) {
        throw new IllegalArgumentException(
            "temperature must be finite and >= 0, got " + temperature);
      }
      if (topK < 0) {
        throw new IllegalArgumentException("top_k must be >= 0, got " + topK);
      }
      if (!(topP >= 0 && topP <= 1)) {
        throw new IllegalArgumentException("top_p must be in [0, 1], got " + topP);
      }
    }

    public static Params greedy() {
      return new Params(0f, 0, 0f, 0L);
    }

    public static Params of(SamplingParams p) {
      return new Params(p.getTemperature(), p.getTopK(), p.getTopP(), p.getSeed());
    }

    public boolean isGreedy() {
      return temperature == 0f;
    }
  }

  /** A sampled token and its log-probability under the unfiltered, temperature-1 distribution. */
  public record Sample(int id, float logprob) {}

  private final Params params;
  private final SplittableRandom random;

  public Sampler(Params params) {
    this.params = params;
    this.random = new SplittableRandom(params.seed());
  }

  public Params params() {
    return params;
  }

  /** Samples from {@code logits[offset .. offset + vocab)}. */
  public Sample sample(float[] logits, int offset, int vocab) {
    int id = params.isGreedy() ? Logits.argmax(logits, offset, vocab) : draw(logits, offset, vocab);
    return new Sample(id, (float) Logits.logProb(logits, offset, vocab, id));
  }

  private int draw(float[] logits, int offset, int vocab) {
    double t = params.temperature();
    Integer[] order = null;
    int keep = vocab;
    if (params.topK() > 0 && params.topK() < vocab) {
      keep = params.topK();
    }
    boolean nucleus = params.topP() > 0 && params.topP() < 1;
    int[] candidates;
    if (keep < vocab || nucleus) {
      order = new Integer[vocab];
      for (int i = 0; i < vocab; i++) {
        order[i] = i;
      }
      // Descending by logit, ascending id on ties, so the order is deterministic.
      Arrays.sort(
          order,
          (a, b) -> {
            int c = Float.compare(logits[offset + b], logits[offset + a]);
            return c != 0 ? c : Integer.compare(a, b);
          });
      candidates = new int[keep];
      for (int i = 0; i < keep; i++) {
        candidates[i] = order[i];
      }
    } else {
      candidates = new int[vocab];
      for (int i = 0; i < vocab; i++) {
        candidates[i] = i;
      }
    }
    double max = Double.NEGATIVE_INFINITY;
    for (int c : candidates) {
      max = Math.max(max, logits[offset + c] / t);
    }
    double[] weights = new double[candidates.length];
    double total = 0;
    for (int i = 0; i < candidates.length; i++) {
      weights[i] = Math.exp(logits[offset + candidates[i]] / t - max);
      total += weights[i];
    }
    int n = candidates.length;
    if (nucleus) {
      // candidates are sorted descending: keep the smallest prefix with mass >= top_p.
      double mass = 0;
      for (int i = 0; i < candidates.length; i++) {
        mass += weights[i] / total;
        if (mass >= params.topP()) {
          n = i + 1;
          break;
        }
      }
      total = 0;
      for (int i = 0; i < n; i++) {
        total += weights[i];
      }
    }
    double u = random.nextDouble() * total;
    double acc = 0;
    for (int i = 0; i < n; i++) {
      acc += weights[i];
      if (u < acc) {
        return candidates[i];
      }
    }
    return candidates[n - 1];
  }
}
