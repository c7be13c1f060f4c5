package io.splitinfer.model.ppl;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.Logits;
import io.splitinfer.model.engine.SplitRunner;
import io.splitinfer.model.tokenizer.TextTokenizer;
import java.util.Arrays;

/**
 * Perplexity, the paper's quality metric (eq. 6): {@code PPL = exp(-(1/N) Σ log P(w_k | w_<k))}
 * over a token stream, with a sliding window.
 *
 * <p>Protocol: the stream t_0..t_{N-1} (no BOS added) is cut into windows starting at k·S (stride
 * S); window k feeds the model t[kS .. kS+W) from a fresh context (position 0) and predicts the
 * next token at every position, i.e. targets t[kS+1 .. kS+W]. Only targets not scored by an earlier
 * window count, so t_1..t_{N-1} are each scored exactly once (t_0 never). With S = W the windows do
 * not overlap (the training-side protocol of the default model, window = stride = 256); with S < W
 * every window after the first gives its targets W - S tokens of extra context (the Hugging Face
 * sliding-window guide).
 */
public final class Perplexity {
  private Perplexity() {}

  /**
   * Scores one window: given tokens w_0..w_n, returns log P(w_{i+1} | w_0..w_i) for i = 0..n-1
   * (natural log). Local engines implement it with {@link #engineScorer}; a remote client can score
   * through the network.
   */
  @FunctionalInterface
  public interface Scorer {
    double[] logProbs(int[] window);
  }

  /**
   * Window and stride.
   *
   * @param window tokens the model reads per window (W)
   * @param stride distance between window starts (S, 1..W)
   */
  public record Protocol(int window, int stride) {
    public Protocol {
      if (window < 1 || stride < 1 || stride > window) {
        throw new IllegalArgumentException(
            "need 1 <= stride <= window, got window " + window + ", stride " + stride);
      }
    }
  }

  /**
   * The outcome.
   *
   * @param scoredTokens N, tokens scored
   * @param totalNll -Σ log P (nats)
   * @param meanNll totalNll / N
   * @param ppl exp(meanNll)
   * @param windows windows run
   */
  public record Result(
      long scoredTokens, double totalNll, double meanNll, double ppl, int windows) {}

  /**
   * The token stream every scorer reads ({@code model ppl}, {@code ue-client eval-ppl}, {@code
   * controller measure}, the live loop): the tokenizer's ids of {@code text} and nothing else — no
   * BOS, no EOS. This is the training protocol of the default model (BOS-free 256-token windows cut
   * from one stream), and with a sliding window a BOS could only ever stand before the first window
   * anyway. One convention, so the link's clean PPL equals {@code model ppl} on the same text.
   */
  public static int[] tokenStream(TextTokenizer tokenizer, String text) {
    return tokenizer.encode(text);
  }

  /** Evaluates eq. 6 over {@code ids} with the given protocol. */
  public static Result evaluate(int[] ids, Protocol protocol, Scorer scorer) {
    int n = ids.length;
    if (n < 2) {
      throw new IllegalArgumentException("need at least 2 tokens, got " + n);
    }
    int w = protocol.window();
    int s = protocol.stride();
    double nll = 0;
    long scored = 0;
    int lastScored = 0; // index of the last scored target (t_0 is never a target)
    int windows = 0;
    for (int begin = 0; lastScored < n - 1; begin += s) {
      int end = Math.min(n, begin + w + 1); // window tokens [begin, end): inputs + last target
      int[] window = Arrays.copyOfRange(ids, begin, end);
      double[] lp = scorer.logProbs(window);
      if (lp.length != window.length - 1) {
        throw new IllegalStateException(
            "scorer returned " + lp.length + " log-probs for a window of " + window.length);
      }
      for (int i = 0; i < lp.length; i++) {
        int target = begin + 1 + i;
        if (target > lastScored) {
          nll -= lp[i];
          scored++;
        }
      }
      lastScored = end - 1;
      windows++;
    }
    double mean = nll / scored;
    return new Result(scored, nll, mean, Math.exp(mean), windows);
  }

  /**
   * Scores windows locally: embed + layers 1..p on {@code ue}, layers p+1..L + head on {@code edge}
   * (they may be the same engine), a fresh context per window, prefilled in chunks of at most
   * {@code chunk} tokens (the KV cache makes this equal to one pass).
   */
  public static Scorer engineScorer(
      InferenceEngine ue, InferenceEngine edge, int split, int chunk) {
    return window -> {
      int v = edge.config().vocabSize();
      int inputs = window.length - 1;
      double[] out = new double[inputs];
      try (SplitRunner r = new SplitRunner(ue, edge, split)) {
        for (int c0 = 0; c0 < inputs; c0 += chunk) {
          int c1 = Math.min(inputs, c0 + chunk);
          float[] logits = r.forward(Arrays.copyOfRange(window, c0, c1));
          for (int t = c0; t < c1; t++) {
            out[t] = Logits.logProb(logits, (t - c0) * v, v, window[t + 1]);
          }
        }
      }
      return out;
    };
  }

  /**
   * log softmax(logits[offset..offset+n))[target], in double.
   *
   * <p>Kept for callers outside this module; the arithmetic is {@link Logits#logProb}'s, the one
   * home of logit math.
   */
  public static double logSoftmaxAt(float[] logits, int offset, int n, int target) {
    return Logits.logProb(logits, offset, n, target);
  }
}
