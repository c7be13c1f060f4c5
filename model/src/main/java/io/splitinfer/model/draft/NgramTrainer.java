package io.splitinfer.model.draft;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Trains an {@link NgramTable}: counts every (context, next token) pair of token streams for
 * contexts of 1..maxContext tokens and keeps each context's most frequent next token with its
 * share. The next token is the stream's own (a table of the text) or another stream's at the same
 * position (a table distilled from a model's greedy tokens, {@code model train-ngram --distill}).
 */
public final class NgramTrainer {
  private NgramTrainer() {}

  /**
   * Counts every (context, next) pair of {@code streams} for contexts of 1..maxContext tokens and
   * keeps, per context, the most frequent next token (the smallest id on a tie) when it followed
   * the context at least {@code minCount} times.
   */
  public static NgramTable train(
      List<int[]> streams, int vocabSize, int maxContext, int minCount, String tokenizerSha256) {
    return train(streams, streams, vocabSize, maxContext, minCount, tokenizerSha256);
  }

  /**
   * As {@link #train(List, int, int, int, String)}, but the token counted after the context that
   * ends before position i of stream s is {@code follows.get(s)[i]}, not the stream's own token
   * there: with a model's greedy tokens as {@code follows} (follows[i] = the model's choice after
   * stream[0, i)) the table learns what the model would say next, which is what greedy speculation
   * is checked against (a distilled table). {@code follows.get(s)} is as long as {@code
   * streams.get(s)}; its first entry is not used.
   */
  public static NgramTable train(
      List<int[]> streams,
      List<int[]> follows,
      int vocabSize,
      int maxContext,
      int minCount,
      String tokenizerSha256) {
    if (follows.size() != streams.size()) {
      throw new IllegalArgumentException(
          follows.size() + " follow streams for " + streams.size() + " streams");
    }
    for (int s = 0; s < streams.size(); s++) {
      if (follows.get(s).length != streams.get(s).length) {
        throw new IllegalArgumentException(
            "follow stream "
                + s
                + " has "
                + follows.get(s).length
                + " tokens, its stream "
                + streams.get(s).length);
      }
    }
    int bits = NgramTable.bitsFor(vocabSize);
    if ((long) bits * (maxContext + 1) > 63) {
      throw new IllegalArgumentException(
          "a context of " + maxContext + " tokens plus the next does not fit 63 bits");
    }
    for (int[] s : concat(streams, follows)) {
      for (int t : s) {
        if (t < 0 || t >= vocabSize) {
          throw new IllegalArgumentException("token id " + t + " outside the vocabulary");
        }
      }
    }
    List<long[]> keptKeys = new ArrayList<>();
    List<int[]> keptNext = new ArrayList<>();
    List<byte[]> keptShares = new ArrayList<>();
    long mask = (1L << bits) - 1;
    for (int n = 1; n <= maxContext; n++) {
      int total = 0;
      for (int[] s : streams) {
        total += Math.max(0, s.length - n);
      }
      long[] pairs = new long[total];
      int p = 0;
      for (int si = 0; si < streams.size(); si++) {
        int[] s = streams.get(si);
        int[] f = follows.get(si);
        for (int i = n; i < s.length; i++) {
          long k = 0;
          for (int t = i - n; t < i; t++) {
            k = (k << bits) | s[t];
          }
          pairs[p++] = (k << bits) | f[i];
        }
      }
      Arrays.sort(pairs);
      long[] ks = new long[pairs.length];
      int[] nx = new int[pairs.length];
      byte[] sh = new byte[pairs.length];
      int kept = 0;
      int i = 0;
      while (i < pairs.length) {
        long ctx = pairs[i] >>> bits;
        int from = i;
        int best = -1;
        int bestCount = 0;
        while (i < pairs.length && pairs[i] >>> bits == ctx) {
          int j = i;
          while (j < pairs.length && pairs[j] == pairs[i]) {
            j++;
          }
          if (j - i > bestCount) {
            bestCount = j - i;
            best = (int) (pairs[i] & mask);
          }
          i = j;
        }
        if (bestCount >= minCount) {
          ks[kept] = ((long) n << (bits * n)) | ctx;
          nx[kept] = best;
          sh[kept] = (byte) Math.round(255.0 * bestCount / (i - from));
          kept++;
        }
      }
      keptKeys.add(Arrays.copyOf(ks, kept));
      keptNext.add(Arrays.copyOf(nx, kept));
      keptShares.add(Arrays.copyOf(sh, kept));
    }
    // keys of context length n + 1 are all above those of length n (the length tag sits above n
    // tokens' bits), and each length's keys come out sorted: concatenating keeps them sorted
    int total = keptKeys.stream().mapToInt(k -> k.length).sum();
    long[] keys = new long[total];
    int[] next = new int[total];
    byte[] shares = new byte[total];
    int at = 0;
    for (int o = 0; o < keptKeys.size(); o++) {
      int len = keptKeys.get(o).length;
      System.arraycopy(keptKeys.get(o), 0, keys, at, len);
      System.arraycopy(keptNext.get(o), 0, next, at, len);
      System.arraycopy(keptShares.get(o), 0, shares, at, len);
      at += len;
    }
    return new NgramTable(vocabSize, maxContext, tokenizerSha256, keys, next, shares);
  }

  private static List<int[]> concat(List<int[]> a, List<int[]> b) {
    List<int[]> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
