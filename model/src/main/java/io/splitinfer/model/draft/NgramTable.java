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
import java.util.Arrays;

/**
 * A small n-gram draft model: for each context of 1..{@link #maxContext} tokens seen often enough
 * in a training token stream, the token that most often followed it. {@link #next} looks up the
 * longest context that has an entry (backoff). It proposes drafts for speculative decoding at no
 * compute: greedy speculation stays exact whatever it proposes, so only the acceptance depends on
 * it. Trained by {@link NgramTrainer} ({@code model train-ngram}), stored as {@link #write} writes
 * it.
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

  NgramTable(
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

  static int bitsFor(int vocab) {
    return Math.max(1, 32 - Integer.numberOfLeadingZeros(Math.max(1, vocab - 1)));
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
