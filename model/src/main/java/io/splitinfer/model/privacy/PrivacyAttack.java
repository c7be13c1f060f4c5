package io.splitinfer.model.privacy;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * The inversion attack suite: for every split p (the wire carries the output of layer p; p = 0 is
 * the embedding) and every {@link WireCondition}, how many of the prompt's tokens an attacker who
 * sees the wire recovers.
 *
 * <p>Text: {@code train} ids (the attacker's own text, to fit the probes) and {@code test} ids (the
 * victim's prompts), disjoint. Both are cut into windows of {@link Config#window()} tokens, each
 * run from position 0 as one prompt. Attacks:
 *
 * <ul>
 *   <li>{@code probe}: a {@link LinearProbe} per layer (noise-aware per condition), argmax, on
 *       every test token;
 *   <li>{@code weights}: {@link WeightsInversion} on the first {@link Config#invertWindows()} test
 *       windows, candidates = probe top-k ∪ embedding-cosine top-k ({@link Config#topK()} each).
 * </ul>
 */
public final class PrivacyAttack {
  /**
   * @param window tokens per prompt
   * @param trainTokens attacker training tokens (whole windows are used)
   * @param testTokens victim tokens attacked by the probe (whole windows)
   * @param invertWindows test windows also attacked with the weights
   * @param topK candidates per source (probe, embedding) for the weights attack
   * @param randomTokens extra training tokens drawn uniformly from the vocabulary (the attacker
   *     knows the model and may run any prompt; this gives every token ids a class mean), in
   *     windows of {@code window}
   * @param ridge relative shrinkage of the probe's shared covariance (times its mean eigenvalue)
   * @param seed seed of every noise draw
   */
  public record Config(
      int window,
      int trainTokens,
      int testTokens,
      int invertWindows,
      int topK,
      int randomTokens,
      double ridge,
      long seed) {
    public Config {
      if (window < 1
          || trainTokens < window
          || testTokens < window
          || invertWindows < 0
          || topK < 1) {
        throw new IllegalArgumentException(
            "need window >= 1, train/test tokens >= window, invertWindows >= 0, topK >= 1: "
                + this);
      }
      if (randomTokens < 0) {
        throw new IllegalArgumentException("randomTokens must be >= 0, got " + randomTokens);
      }
      if (!(ridge > 0)) {
        throw new IllegalArgumentException("ridge must be > 0, got " + ridge);
      }
    }
  }

  /** One measured cell: recovery of {@code attack} at split p under {@code condition}. */
  public record Result(
      int split, String condition, String attack, Proportion recovery, double hiddenRms) {}

  /**
   * Row names: the two attacks, and {@code candidates}, the share of tokens whose true id was in
   * the weights attack's pruned candidate list (an upper bound on that attack under this pruning).
   */
  public static final String[] ATTACKS = {"probe", "weights", "candidates"};

  private final InferenceEngine engine;
  private final Config cfg;
  private final List<WireCondition> conditions;
  private final int layers;
  private final int d;
  private final int vocab;

  public PrivacyAttack(InferenceEngine engine, Config cfg, List<WireCondition> conditions) {
    this.engine = engine;
    this.cfg = cfg;
    this.conditions = List.copyOf(conditions);
    this.layers = engine.config().numLayers();
    this.d = engine.config().hiddenSize();
    this.vocab = engine.config().vocabSize();
  }

  /** Outputs of layers 0 (embedding) .. L for one prompt, each [T, d]. */
  float[][] states(int[] ids) {
    float[][] out = new float[layers + 1][];
    out[0] = engine.embed(ids);
    try (KvCache cache = engine.newCache(1, layers)) {
      for (int l = 1; l <= layers; l++) {
        cache.truncate(0);
        out[l] = engine.runLayers(l, l, out[l - 1], ids.length, cache);
        cache.truncate(0);
      }
    }
    return out;
  }

  /** Runs the suite; {@code log} gets one progress line per step. */
  public List<Result> run(int[] train, int[] test, Consumer<String> log) {
    int w = cfg.window();
    int trainWindows = Math.min(cfg.trainTokens(), train.length) / w;
    int testWindows = Math.min(cfg.testTokens(), test.length) / w;
    if (trainWindows < 1 || testWindows < 1) {
      throw new IllegalArgumentException(
          "not enough text: "
              + train.length
              + " train / "
              + test.length
              + " test ids for windows of "
              + w);
    }
    LinearProbe[] probes = new LinearProbe[layers + 1];
    for (int p = 0; p <= layers; p++) {
      probes[p] = new LinearProbe(d, vocab);
    }
    double[][] noiseVar = new double[conditions.size()][layers + 1];
    long t0 = System.nanoTime();
    for (int k = 0; k < trainWindows; k++) {
      float[][] s = states(Arrays.copyOfRange(train, k * w, (k + 1) * w));
      for (int p = 0; p <= layers; p++) {
        probes[p].add(s[p], train, k * w, w);
        if (k == 0) {
          for (int c = 0; c < conditions.size(); c++) {
            float[] y = conditions.get(c).observe(s[p], w, d, cfg.seed() ^ (0x5EEDL + 31L * p + c));
            noiseVar[c][p] = meanSquaredDiff(y, s[p]);
          }
        }
      }
    }
    SplittableRandom rnd = new SplittableRandom(cfg.seed());
    for (int k = 0; k < cfg.randomTokens() / w; k++) {
      int[] ids = new int[w];
      for (int t = 0; t < w; t++) {
        ids[t] = rnd.nextInt(vocab);
      }
      float[][] s = states(ids);
      for (int p = 0; p <= layers; p++) {
        probes[p].add(s[p], ids, 0, w);
      }
    }
    LinearProbe.Fitted[] fitted = new LinearProbe.Fitted[layers + 1];
    for (int p = 0; p <= layers; p++) {
      fitted[p] = probes[p].fit();
      probes[p] = null;
    }
    log.accept(
        String.format(
            "probes: %d layers fitted on %d text tokens (%d windows of %d) + %d random tokens in %.1f s",
            layers + 1,
            trainWindows * w,
            trainWindows,
            w,
            cfg.randomTokens() / w * w,
            (System.nanoTime() - t0) / 1e9));

    long unseen = 0;
    for (int i = 0; i < testWindows * w; i++) {
      unseen += fitted[0].knows(test[i]) ? 0 : 1;
    }
    log.accept(
        String.format(
            "%d of %d attacked tokens occur neither in the training text nor the random prompts",
            unseen, testWindows * w));
    float[] emb = unitRows(engine.embed(range(vocab)));
    int nc = conditions.size();
    long[][][] correct = new long[nc][layers + 1][ATTACKS.length];
    long[][][] total = new long[nc][layers + 1][ATTACKS.length];
    double[] sq = new double[layers + 1];
    long sqN = 0;
    WeightsInversion inv = new WeightsInversion(engine);
    float[] scores = new float[vocab];
    float[] cos = new float[vocab];
    t0 = System.nanoTime();
    for (int win = 0; win < testWindows; win++) {
      int[] ids = Arrays.copyOfRange(test, win * w, (win + 1) * w);
      float[][] s = states(ids);
      for (int p = 0; p <= layers; p++) {
        sq[p] += sumSquares(s[p]);
      }
      sqN += (long) w * d;
      boolean invert = win < cfg.invertWindows();
      for (int p = 0; p <= layers; p++) {
        for (int c = 0; c < nc; c++) {
          WireCondition cond = conditions.get(c);
          long noiseSeed = cfg.seed() * 1_000_003L + win * 131L + p * 7L + c;
          float[] y = cond.observe(s[p], w, d, noiseSeed);
          double shrink = fitted[p].shrinkage(cfg.ridge(), noiseVar[c][p]);
          int[][] cands = invert ? new int[w][] : null;
          for (int t = 0; t < w; t++) {
            fitted[p].scores(y, t * d, shrink, scores);
            total[c][p][0]++;
            if (TopK.argmax(scores) == ids[t]) {
              correct[c][p][0]++;
            }
            if (invert) {
              cosines(emb, y, t * d, p == 0 ? null : fitted[p].mean(), cos);
              cands[t] = merge(TopK.of(scores, cfg.topK()), TopK.of(cos, cfg.topK()));
              total[c][p][2]++;
              int truth = ids[t];
              if (Arrays.stream(cands[t]).anyMatch(v -> v == truth)) {
                correct[c][p][2]++;
              }
            }
          }
          if (invert) {
            int[] got = inv.invert(p, y, w, cands, cond.isClean());
            for (int t = 0; t < w; t++) {
              total[c][p][1]++;
              if (got[t] == ids[t]) {
                correct[c][p][1]++;
              }
            }
          }
        }
      }
      log.accept(
          String.format(
              "test window %d/%d done (%.1f s, %d single-token layer steps by the weights attack)",
              win + 1, testWindows, (System.nanoTime() - t0) / 1e9, inv.layerSteps()));
    }
    List<Result> out = new ArrayList<>();
    for (int p = 0; p <= layers; p++) {
      double rms = Math.sqrt(sq[p] / sqN);
      for (int c = 0; c < nc; c++) {
        for (int a = 0; a < ATTACKS.length; a++) {
          if (total[c][p][a] > 0) {
            out.add(
                new Result(
                    p,
                    conditions.get(c).name(),
                    ATTACKS[a],
                    new Proportion(correct[c][p][a], total[c][p][a]),
                    rms));
          }
        }
      }
    }
    return out;
  }

  static int[] merge(int[] a, int[] b) {
    Set<Integer> s = new LinkedHashSet<>();
    for (int i = 0; i < Math.max(a.length, b.length); i++) {
      if (i < a.length) {
        s.add(a[i]);
      }
      if (i < b.length) {
        s.add(b[i]);
      }
    }
    return s.stream().mapToInt(Integer::intValue).toArray();
  }

  /**
   * Cosine similarity of the observed row minus the layer's mean hidden state (the probe's μ, which
   * removes the large token-independent part later layers add; {@code mu} null at p = 0, where the
   * true row has cosine 1 and is always ranked first on a clean wire) to every unit embedding row.
   */
  private void cosines(float[] unitEmb, float[] y, int off, float[] mu, float[] out) {
    float[] x = new float[d];
    double n = 0;
    for (int k = 0; k < d; k++) {
      x[k] = mu == null ? y[off + k] : y[off + k] - mu[k];
      n += (double) x[k] * x[k];
    }
    float inv = (float) (1 / Math.sqrt(Math.max(n, 1e-30)));
    for (int v = 0; v < vocab; v++) {
      float s = 0;
      int base = v * d;
      for (int k = 0; k < d; k++) {
        s += unitEmb[base + k] * x[k];
      }
      out[v] = s * inv;
    }
  }

  private float[] unitRows(float[] m) {
    for (int r = 0; r < m.length / d; r++) {
      double n = 0;
      for (int k = 0; k < d; k++) {
        n += (double) m[r * d + k] * m[r * d + k];
      }
      float inv = (float) (1 / Math.sqrt(Math.max(n, 1e-30)));
      for (int k = 0; k < d; k++) {
        m[r * d + k] *= inv;
      }
    }
    return m;
  }

  private static int[] range(int n) {
    int[] r = new int[n];
    for (int i = 0; i < n; i++) {
      r[i] = i;
    }
    return r;
  }

  private static double sumSquares(float[] a) {
    double s = 0;
    for (float v : a) {
      s += (double) v * v;
    }
    return s;
  }

  private static double meanSquaredDiff(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      double x = a[i] - b[i];
      s += x * x;
    }
    return s / a.length;
  }
}
