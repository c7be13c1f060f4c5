package io.splitinfer.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.checkpoint.RandomCheckpoint;
import io.splitinfer.model.engine.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Tiny random checkpoints and tokenizers for tests. */
public final class TestModels {
  private TestModels() {}

  /** A tiny Llama (GQA 4 heads / 2 KV heads, d 32, vocab 97) with {@code layers} layers. */
  public static ModelConfig tiny(int layers, boolean tied) {
    return RandomCheckpoint.tiny(layers, tied);
  }

  public static Path writeTiny(Path dir, int layers, boolean tied, DType dtype, long seed)
      throws IOException {
    new RandomCheckpoint(tiny(layers, tied), dtype, seed, 1).write(dir);
    return dir;
  }

  /** GPT-2 byte-to-unicode map. */
  static String byteSymbol(int b) {
    if ((b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)) {
      return String.valueOf((char) b);
    }
    int n = 0;
    for (int x = 0; x < b; x++) {
      if (!((x >= '!' && x <= '~') || (x >= 0xa1 && x <= 0xac) || (x >= 0xae && x <= 0xff))) {
        n++;
      }
    }
    return String.valueOf((char) (256 + n));
  }

  /**
   * Writes a byte-level BPE tokenizer.json: 3 specials, 256 byte symbols, a few merges (vocab 265).
   */
  public static Path writeByteTokenizer(Path dir) throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode root = json.createObjectNode();
    root.put("version", "1.0");
    root.putNull("truncation");
    root.putNull("padding");
    ArrayNode added = root.putArray("added_tokens");
    String[] specials = {"<unk>", "<s>", "</s>"};
    for (int i = 0; i < specials.length; i++) {
      added
          .addObject()
          .put("id", i)
          .put("content", specials[i])
          .put("single_word", false)
          .put("lstrip", false)
          .put("rstrip", false)
          .put("normalized", false)
          .put("special", true);
    }
    root.putNull("normalizer");
    ObjectNode bl = json.createObjectNode();
    bl.put("type", "ByteLevel").put("add_prefix_space", false).put("trim_offsets", true);
    bl.put("use_regex", true);
    root.set("pre_tokenizer", bl);
    root.putNull("post_processor");
    root.set("decoder", bl.deepCopy());
    ObjectNode model = root.putObject("model");
    model.put("type", "BPE").putNull("dropout");
    model.putNull("unk_token").putNull("continuing_subword_prefix").putNull("end_of_word_suffix");
    model.put("fuse_unk", false).put("byte_fallback", false);
    ObjectNode vocab = model.putObject("vocab");
    for (int i = 0; i < specials.length; i++) {
      vocab.put(specials[i], i);
    }
    for (int b = 0; b < 256; b++) {
      vocab.put(byteSymbol(b), 3 + b);
    }
    String sp = byteSymbol(' ');
    String[][] merges = {{"t", "h"}, {"th", "e"}, {sp, "the"}, {"i", "n"}, {sp, "in"}, {"o", "n"}};
    ArrayNode m = model.putArray("merges");
    int id = 259;
    for (String[] pair : merges) {
      vocab.put(pair[0] + pair[1], id++);
      m.add(pair[0] + " " + pair[1]);
    }
    Files.createDirectories(dir);
    Path file = dir.resolve("tokenizer.json");
    json.writeValue(file.toFile(), root);
    return file;
  }

  public static float maxAbsDiff(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new AssertionError("lengths differ: " + a.length + " vs " + b.length);
    }
    float m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs(a[i] - b[i]));
    }
    return m;
  }

  /**
   * Runs {@code chunks} in order through {@code e} split at {@code split}; the last chunk's logits.
   */
  public static float[] logits(
      io.splitinfer.model.engine.InferenceEngine e, int split, int[]... chunks) {
    try (io.splitinfer.model.engine.SplitRunner r =
        new io.splitinfer.model.engine.SplitRunner(e, split)) {
      float[] last = null;
      for (int[] c : chunks) {
        last = r.forward(c);
      }
      return last;
    }
  }
}
