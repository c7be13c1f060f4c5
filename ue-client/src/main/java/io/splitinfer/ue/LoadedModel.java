package io.splitinfer.ue;

import io.splitinfer.model.engine.EngineKind;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.pkg.DefaultModel;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.ppl.Perplexity;
import io.splitinfer.model.tokenizer.TextTokenizer;
import io.splitinfer.proto.v1.ModelInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A model package opened for a CLI: engine (ONNX Runtime or vector) and tokenizer, closed together.
 */
final class LoadedModel implements AutoCloseable {
  final ModelPackage pkg;
  final InferenceEngine engine;
  final TextTokenizer tokenizer;

  private LoadedModel(ModelPackage pkg, InferenceEngine engine, TextTokenizer tokenizer) {
    this.pkg = pkg;
    this.engine = engine;
    this.tokenizer = tokenizer;
  }

  /** Opens {@code dir}, or the embedded default model when {@code dir} is null. */
  static LoadedModel open(Path dir, int threads, EngineKind kind) throws IOException {
    ModelPackage pkg = dir == null ? DefaultModel.forProcess().locate() : ModelPackage.open(dir);
    InferenceEngine engine = pkg.openEngine(kind, OnnxOptions.defaults().withThreads(threads, 1));
    TextTokenizer tok = pkg.hasTokenizer() ? pkg.openTokenizer() : null;
    return new LoadedModel(pkg, engine, tok);
  }

  /**
   * The weight format this UE registers with the controller: the manifest's format of the layers it
   * may run (1..max split of {@code info}); when they differ (a package with per-part formats), the
   * one most of them have.
   */
  String weightFormat(ModelInfo info) {
    int layers = info.getNumLayers();
    int max = info.getMaxSplit() > 0 ? info.getMaxSplit() : Math.max(1, layers - 1);
    Map<String, Integer> count = new TreeMap<>();
    for (int l = 1; l <= Math.min(max, engine.config().numLayers()); l++) {
      count.merge(pkg.manifest().layerWeightFormat(l), 1, Integer::sum);
    }
    return count.entrySet().stream()
        .max(Map.Entry.comparingByValue())
        .map(Map.Entry::getKey)
        .orElse(pkg.manifest().dtype());
  }

  /**
   * The {@link Drafter#named} drafter for this model; an n-gram table must have been trained with
   * this package's tokenizer (IllegalArgumentException otherwise, or for an unknown name).
   */
  Drafter drafter(String name) {
    return Drafter.named(name, engine, pkg.file("tokenizer.json").orElse(null));
  }

  UeModel ueModel() {
    return new UeModel(pkg.id(), pkg.sha256(), engine);
  }

  /** Prompt ids: a comma-separated id list ("ids:1,2,3") or text through the tokenizer. */
  int[] encode(String prompt) {
    int[] given = PromptInput.ids(prompt);
    if (given != null) {
      return given;
    }
    if (tokenizer == null) {
      throw new IllegalArgumentException(
          "model package " + pkg.dir() + " has no tokenizer; give the prompt as ids:1,2,3");
    }
    int[] ids = tokenizer.encode(prompt);
    int bos = engine.config().bosTokenId();
    if (bos >= 0) {
      int[] withBos = new int[ids.length + 1];
      withBos[0] = bos;
      System.arraycopy(ids, 0, withBos, 1, ids.length);
      return withBos;
    }
    return ids;
  }

  /**
   * The corpus as scorers read it: {@link Perplexity#tokenStream}, no BOS (unlike {@link #encode},
   * which gives a generation prompt its BOS).
   */
  int[] scoringStream(String text) {
    if (tokenizer == null) {
      throw new IllegalArgumentException("model package " + pkg.dir() + " has no tokenizer");
    }
    return Perplexity.tokenStream(tokenizer, text);
  }

  /**
   * {@code count} prompts cut from the package's held-out text, evenly spaced: {@code bos} (when >=
   * 0), then {@code tokens} ids each (fewer prompts when the text is short).
   */
  List<int[]> heldOutPrompts(int count, int tokens, int bos) throws IOException {
    Path heldout =
        pkg.file("heldout.txt")
            .orElseThrow(() -> new IOException("no heldout.txt in the model package"));
    int[] stream = scoringStream(Files.readString(heldout, StandardCharsets.UTF_8));
    int stride = Math.max(tokens, (stream.length - tokens) / Math.max(1, count));
    int head = bos >= 0 ? 1 : 0;
    List<int[]> out = new ArrayList<>();
    for (int i = 0; i < count && (long) i * stride + tokens <= stream.length; i++) {
      int[] p = new int[tokens + head];
      if (head == 1) {
        p[0] = bos;
      }
      System.arraycopy(stream, i * stride, p, head, tokens);
      out.add(p);
    }
    return out;
  }

  @Override
  public void close() {
    if (tokenizer != null) {
      tokenizer.close();
    }
    engine.close();
  }
}
