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
    Dist d = dist(logits, offset, vocab);
    double u = random.nextDouble() * d.total;
    double acc = 0;
    for (int i = 0; i < d.n; i++) {
      acc += d.weights[i];
      if (u < acc) {
        return d.candidates[i];
      }
    }
    return d.candidates[d.n - 1];
  }

  /**
   * The distribution {@link #sample} draws from for {@code logits[offset .. offset + vocab)}, as
   * probabilities over the whole vocabulary (zero outside the top-k / top-p set; one-hot at the
   * argmax when greedy). The target distribution of speculative sampling ({@link SpecVerifier}).
   */
  public double[] probs(float[] logits, int offset, int vocab) {
    double[] p = new double[vocab];
    if (params.isGreedy()) {
      p[Logits.argmax(logits, offset, vocab)] = 1;
      return p;
    }
    Dist d = dist(logits, offset, vocab);
    for (int i = 0; i < d.n; i++) {
      p[d.candidates[i]] = d.weights[i] / d.total;
    }
    return p;
  }

  /** A uniform draw in [0, 1) from the session's seeded generator. */
  public double uniform() {
    return random.nextDouble();
  }

  /**
   * Draws an index from non-negative {@code weights} (not necessarily normalised) with the
   * session's seeded generator; the last index with positive weight when rounding leaves the draw
   * past the end.
   */
  public int drawFrom(double[] weights) {
    double total = 0;
    for (double w : weights) {
      total += w;
    }
    double u = random.nextDouble() * total;
    double acc = 0;
    int last = 0;
    for (int i = 0; i < weights.length; i++) {
      if (weights[i] > 0) {
        acc += weights[i];
        last = i;
        if (u < acc) {
          return i;
        }
      }
    }
    return last;
  }

  /** Candidate ids (sorted descending when filtered), their weights, how many are kept, mass. */
  private record Dist(int[] candidates, double[] weights, int n, double total) {}

  private Dist dist(float[] logits, int offset, int vocab) {
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
    return new Dist(candidates, weights, n, total);
  }
}
