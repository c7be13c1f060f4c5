package io.splitinfer.model.tokenizer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** {@link TextTokenizer} over a Hugging Face {@code tokenizer.json} (DJL's Rust binding). */
public final class HfTokenizer implements TextTokenizer {
  private final HuggingFaceTokenizer tokenizer;
  private final int vocabSize;

  private HfTokenizer(HuggingFaceTokenizer tokenizer, int vocabSize) {
    this.tokenizer = tokenizer;
    this.vocabSize = vocabSize;
  }

  /**
   * Opens {@code tokenizer.json} (a file, or a directory holding one). {@code vocabSize} is the
   * model's vocabulary (used to check ids).
   */
  public static HfTokenizer open(Path path, int vocabSize) throws IOException {
    Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
    if (!Files.exists(file)) {
      throw new IOException("no tokenizer.json at " + path.toAbsolutePath());
    }
    Map<String, String> options =
        Map.of(
            "addSpecialTokens", "false",
            "truncation", "false",
            "padding", "false");
    return new HfTokenizer(HuggingFaceTokenizer.newInstance(file, options), vocabSize);
  }

  @Override
  public int[] encode(String text) {
    Encoding e = tokenizer.encode(text, false, false);
    long[] ids = e.getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = Math.toIntExact(ids[i]);
    }
    return out;
  }

  @Override
  public String decode(int[] ids) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] < 0 || ids[i] >= vocabSize) {
        throw new IllegalArgumentException("token id " + ids[i] + " outside 0.." + (vocabSize - 1));
      }
      l[i] = ids[i];
    }
    return tokenizer.decode(l, true);
  }

  @Override
  public int vocabSize() {
    return vocabSize;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
