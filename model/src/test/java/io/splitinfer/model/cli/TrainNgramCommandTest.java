package io.splitinfer.model.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.model.draft.NgramTable;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.Logits;
import io.splitinfer.model.pkg.DefaultModel;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.tokenizer.TextTokenizer;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code model train-ngram} on a few speeches cut from the default model's held-out text: the plain
 * table counts the text's next tokens, the distilled one the model's own greedy tokens (checked
 * against the engine run here), and the distill cache gives the same table without the model.
 */
class TrainNgramCommandTest {
  private static final int SPEECHES = 21; // index 19 is held out, as in the real dataset
  private static final int WINDOW = 32;

  @TempDir Path dir;

  @Test
  void theDistilledTableHoldsTheModelsGreedyTokensAndTheCacheReproducesIt() throws Exception {
    ModelPackage p = DefaultModel.forProcess().locate();
    String heldout = Files.readString(p.file("heldout.txt").orElseThrow());
    Path speeches = Files.createDirectories(dir.resolve("data"));
    for (int i = 0; i < SPEECHES; i++) {
      Files.writeString(
          speeches.resolve(String.format("%04d_speech.txt", 1800 + i)),
          heldout.substring(400 * i, 400 * i + 300));
    }
    Path text = dir.resolve("text.bin");
    Path distilled = dir.resolve("distilled.bin");
    Path again = dir.resolve("again.bin");
    Path cache = dir.resolve("follows.bin");
    String[] common = {"--speeches", speeches.toString(), "--min-count", "1", "--check", "0"};
    assertEquals(0, run(common, "--out", text.toString()));
    assertEquals(
        0,
        run(
            common,
            "--out",
            distilled.toString(),
            "--distill",
            "--distill-cache",
            cache.toString(),
            "--window",
            String.valueOf(WINDOW)));
    assertTrue(Files.size(cache) > 0, "the model's tokens were cached");
    assertEquals(
        0,
        run(
            common,
            "--out",
            again.toString(),
            "--distill",
            "--distill-cache",
            cache.toString(),
            "--window",
            String.valueOf(WINDOW)));
    assertArrayEquals(Files.readAllBytes(distilled), Files.readAllBytes(again), "from the cache");

    // Three-token contexts seen once (--min-count 1) hold the model's token after them, as the
    // engine gives it in the same window; the text table holds the text's next token there.
    NgramTable plain = NgramTable.read(text);
    NgramTable model = NgramTable.read(distilled);
    int[] ids;
    try (TextTokenizer tok = p.openTokenizer()) {
      ids = tok.encode(TrainNgramCommand.normalise(Files.readString(first(speeches))) + "\n");
    }
    Map<String, Integer> seen = contextCounts(speeches, p);
    int checked = 0;
    int differ = 0;
    try (InferenceEngine e = p.openEngine(io.splitinfer.model.onnx.OnnxOptions.defaults())) {
      int layers = e.config().numLayers();
      int vocab = e.config().vocabSize();
      int len = Math.min(WINDOW, ids.length);
      int[] w = Arrays.copyOf(ids, len);
      float[] logits;
      try (KvCache c = e.newCache(1, layers)) {
        logits = e.head(e.runLayers(1, layers, e.embed(w), len, c), len);
      }
      for (int i = 3; i < len - 1; i++) {
        if (seen.get(key(ids, i)) != 1) {
          continue; // a context seen elsewhere too: the count decides, not this position
        }
        int greedy = Logits.argmax(logits, (i - 1) * vocab, vocab);
        assertEquals(greedy, model.next(ids, i), "distilled entry after position " + i);
        assertEquals(ids[i], plain.next(ids, i), "text entry after position " + i);
        checked++;
        differ += greedy != ids[i] ? 1 : 0;
      }
    }
    assertTrue(checked >= 10, "contexts checked: " + checked);
    assertNotEquals(0, differ, "the model's tokens differ from the text somewhere");
  }

  @Test
  void aWindowOutsideTheModelsPositionsAndACacheOfOtherSpeechesAreRefused() throws Exception {
    Path speeches = Files.createDirectories(dir.resolve("few"));
    for (int i = 0; i < 3; i++) {
      Files.writeString(speeches.resolve("180" + i + "_x.txt"), "We the people, " + i);
    }
    String out = dir.resolve("t.bin").toString();
    for (String w : new String[] {"0", "513"}) {
      Run r = execute("--speeches", speeches.toString(), "--out", out, "--window", w, "--distill");
      assertEquals(2, r.rc(), r.err());
      assertTrue(r.err().contains("--window must be in 1..512"), r.err());
    }
    Path cache = dir.resolve("other.bin");
    Files.write(cache, new byte[] {0, 0, 0, 7}); // seven speeches, not three
    Run r =
        execute(
            "--speeches",
            speeches.toString(),
            "--out",
            out,
            "--check",
            "0",
            "--distill",
            "--distill-cache",
            cache.toString());
    assertNotEquals(0, r.rc());
    assertTrue(r.err().contains("another number of speeches"), r.err());
  }

  /** How often each 3-token context occurs over the training speeches (not index 19). */
  private static Map<String, Integer> contextCounts(Path speeches, ModelPackage p)
      throws Exception {
    Map<String, Integer> counts = new HashMap<>();
    try (TextTokenizer tok = p.openTokenizer();
        var files = Files.list(speeches)) {
      var sorted = files.sorted().toList();
      for (int s = 0; s < sorted.size(); s++) {
        if (s % 20 == 19) {
          continue;
        }
        int[] ids = tok.encode(TrainNgramCommand.normalise(Files.readString(sorted.get(s))) + "\n");
        for (int i = 3; i < ids.length; i++) {
          counts.merge(key(ids, i), 1, Integer::sum);
        }
      }
    }
    return counts;
  }

  private static String key(int[] ids, int i) {
    return ids[i - 3] + " " + ids[i - 2] + " " + ids[i - 1];
  }

  private static Path first(Path speeches) throws Exception {
    try (var files = Files.list(speeches)) {
      return files.sorted().findFirst().orElseThrow();
    }
  }

  private static int run(String[] common, String... more) {
    String[] args = Arrays.copyOf(common, common.length + more.length);
    System.arraycopy(more, 0, args, common.length, more.length);
    Run r = execute(args);
    assertEquals(0, r.rc(), r.err());
    return r.rc();
  }

  /** What {@code model train-ngram ARGS} returned and wrote to its error stream. */
  private record Run(int rc, String err) {}

  private static Run execute(String... args) {
    String[] all = new String[args.length + 1];
    all[0] = "train-ngram";
    System.arraycopy(args, 0, all, 1, args.length);
    StringWriter err = new StringWriter();
    int rc = new CommandLine(new ModelCli()).setErr(new PrintWriter(err)).execute(all);
    return new Run(rc, err.toString());
  }
}
