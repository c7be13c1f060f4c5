package io.splitinfer.model.draft;

import io.splitinfer.model.pkg.Manifest;
import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A small n-gram draft model: for each context of 1..{@link #maxContext} tokens seen often enough
 * in a training token stream, the token that most often followed it. {@link #next} looks up the
 * longest context that has an entry (backoff). It proposes drafts for speculative decoding at no
 * compute: greedy speculation stays exact whatever it proposes, so only the acceptance depends on
 * it. Trained by {@link #train} ({@code model train-ngram}), stored as {@link #write} writes it.
 *
 * <p>Keys pack a context as {@code bits} per token (the vocabulary's id width), the context length
 * in the top bits; entries are sorted by key and found by binary search.
 */
public final class NgramTable {
  private static final int MAGIC = 0x53504e47; // "SPNG"

  /** 2 added each entry's share; version 1 files (no shares) still read, as share 1. */
  private static final int VERSION = 2;

  private final int vocabSize;
  private final int maxContext;
  private final String tokenizerSha256;
  private final int bits;
  private final long[] keys;
  private final int[] next;
  private final byte[] shares;

  private NgramTable(
      int vocabSize,
      int maxContext,
      String tokenizerSha256,
      long[] keys,
      int[] next,
      byte[] shares) {
    this.vocabSize = vocabSize;
    this.maxContext = maxContext;
    this.tokenizerSha256 = tokenizerSha256;
    this.bits = bitsFor(vocabSize);
    if ((long) bits * maxContext > 58) {
      throw new IllegalArgumentException(
          "contexts of " + maxContext + " tokens of " + bits + " bits do not fit a key");
    }
    this.keys = keys;
    this.next = next;
    this.shares = shares;
  }

  public int vocabSize() {
    return vocabSize;
  }

  public int maxContext() {
    return maxContext;
  }

  /** SHA-256 of the tokenizer.json whose ids the table holds. */
  public String tokenizerSha256() {
    return tokenizerSha256;
  }

  /**
   * Refuses a table trained with another tokenizer than the one in {@code tokenizerJson} (its ids
   * would mean other tokens: drafts stay harmless for greedy output, but are almost all rejected).
   */
  public void checkTokenizer(Path tokenizerJson) throws IOException {
    String sha = Manifest.sha256(tokenizerJson);
    if (!sha.equals(tokenizerSha256)) {
      throw new IllegalArgumentException(
          "the n-gram draft table was trained with the tokenizer of sha256 "
              + tokenizerSha256
              + ", not this model's ("
              + tokenizerJson
              + ": "
              + sha
              + ")");
    }
  }

  /** Contexts with an entry. */
  public int size() {
    return keys.length;
  }

  /**
   * The token that most often followed the longest context of {@code seq[0, len)}'s last tokens
   * with an entry, or -1 when none has one.
   */
  public int next(int[] seq, int len) {
    int i = entry(seq, len);
    return i >= 0 ? next[i] : -1;
  }

  /**
   * The share of {@link #next}'s token among everything that followed its context in training (in
   * 1/255 steps; 0 when there is no entry). For a table distilled from a model it is a calibrated
   * chance that the model's greedy token is that one (model/training/README.md).
   */
  public float share(int[] seq, int len) {
    int i = entry(seq, len);
    return i >= 0 ? (shares[i] & 0xff) / 255f : 0f;
  }

  private int entry(int[] seq, int len) {
    for (int n = Math.min(maxContext, len); n >= 1; n--) {
      int i = Arrays.binarySearch(keys, key(seq, len - n, n));
      if (i >= 0) {
        return i;
      }
    }
    return -1;
  }

  private long key(int[] seq, int from, int n) {
    long k = n;
    for (int t = 0; t < n; t++) {
      k = (k << bits) | seq[from + t];
    }
    return k;
  }

  private static List<int[]> concat(List<int[]> a, List<int[]> b) {
    List<int[]> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }

  private static int bitsFor(int vocab) {
    return Math.max(1, 32 - Integer.numberOfLeadingZeros(Math.max(1, vocab - 1)));
  }

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
    int bits = bitsFor(vocabSize);
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

  /** Where the default model's table is on the classpath (model/training/README.md, "Draft"). */
  public static final String DEFAULT_RESOURCE = "splitinfer/default-model-draft/ngram.bin";

  /** The embedded default model's table. */
  public static NgramTable embeddedDefault() throws IOException {
    try (InputStream in = NgramTable.class.getClassLoader().getResourceAsStream(DEFAULT_RESOURCE)) {
      if (in == null) {
        throw new IOException("no embedded n-gram draft table (" + DEFAULT_RESOURCE + ")");
      }
      return read(new BufferedInputStream(in));
    }
  }

  /**
   * Writes the table (big-endian): magic, version, vocab, max context, tokenizer sha, entry count,
   * keys, next tokens, shares.
   */
  public void write(OutputStream out) throws IOException {
    DataOutputStream d = new DataOutputStream(out);
    d.writeInt(MAGIC);
    d.writeInt(VERSION);
    d.writeInt(vocabSize);
    d.writeInt(maxContext);
    d.writeUTF(tokenizerSha256);
    d.writeInt(keys.length);
    for (long k : keys) {
      d.writeLong(k);
    }
    for (int n : next) {
      d.writeInt(n);
    }
    d.write(shares);
    d.flush();
  }

  /** Reads a table file; its entry count must fit the file's size. */
  public static NgramTable read(Path file) throws IOException {
    try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
      return read(in, Files.size(file));
    }
  }

  /** Reads what {@link #write} wrote; throws IOException on anything else. */
  public static NgramTable read(InputStream in) throws IOException {
    return read(in, Long.MAX_VALUE);
  }

  /**
   * As {@link #read(InputStream)}, refusing a header that claims more entries than {@code bytes}
   * (the stream's length) can hold before anything is allocated for them.
   */
  private static NgramTable read(InputStream in, long bytes) throws IOException {
    DataInputStream d = new DataInputStream(in);
    if (d.readInt() != MAGIC) {
      throw new IOException("not an n-gram draft table (bad magic)");
    }
    int version = d.readInt();
    if (version != 1 && version != VERSION) {
      throw new IOException("n-gram draft table version " + version + ", expected 1 or " + VERSION);
    }
    int vocab = d.readInt();
    int maxContext = d.readInt();
    String sha = d.readUTF();
    int n = d.readInt();
    if (vocab <= 0
        || maxContext <= 0
        || maxContext > 8
        || n < 0
        || n > 1 << 26
        || (long) n * (Long.BYTES + Integer.BYTES + (version > 1 ? 1 : 0)) > bytes) {
      throw new IOException(
          "n-gram draft table header out of range: vocab "
              + vocab
              + ", context "
              + maxContext
              + ", entries "
              + n);
    }
    long[] keys = new long[n];
    int[] next = new int[n];
    for (int i = 0; i < n; i++) {
      keys[i] = d.readLong();
      if (i > 0 && keys[i] <= keys[i - 1]) {
        throw new IOException("n-gram draft table keys not strictly increasing at entry " + i);
      }
    }
    for (int i = 0; i < n; i++) {
      next[i] = d.readInt();
      if (next[i] < 0 || next[i] >= vocab) {
        throw new IOException("n-gram draft table entry " + i + " names token " + next[i]);
      }
    }
    byte[] shares = new byte[n];
    if (version > 1) {
      d.readFully(shares);
    } else {
      Arrays.fill(shares, (byte) 255);
    }
    return new NgramTable(vocab, maxContext, sha, keys, next, shares);
  }
}
