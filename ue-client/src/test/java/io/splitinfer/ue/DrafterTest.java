package io.splitinfer.ue;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.pkg.DefaultModel;
import io.splitinfer.model.pkg.ModelPackage;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which drafter a name gives on the default model, and when its n-gram table is refused. */
class DrafterTest {
  @Test
  void autoIsTheTableWhereItFitsTheModelsTokenizerElseTheEarlyExit(@TempDir Path dir)
      throws Exception {
    ModelPackage pkg = DefaultModel.forProcess().locate();
    Path tokenizer = pkg.dir().resolve("tokenizer.json");
    Path other = dir.resolve("tokenizer.json");
    Files.writeString(other, "{}");
    try (InferenceEngine e = pkg.openEngine(OnnxOptions.defaults().withThreads(1, 1))) {
      assertInstanceOf(LookupDrafter.class, Drafter.named("auto", e, tokenizer));
      assertInstanceOf(LookupDrafter.class, Drafter.named("ngram", e, tokenizer));
      assertInstanceOf(EarlyExitDrafter.class, Drafter.named("auto", e, other));
      assertInstanceOf(EarlyExitDrafter.class, Drafter.named("auto", e, null));
      IllegalArgumentException refused =
          assertThrows(IllegalArgumentException.class, () -> Drafter.named("ngram", e, other));
      assertTrue(refused.getMessage().contains("trained with the tokenizer"), refused.getMessage());
      Path garbage = dir.resolve("table.bin");
      Files.writeString(garbage, "not a table");
      IllegalArgumentException bad =
          assertThrows(
              IllegalArgumentException.class, () -> Drafter.named("ngram:" + garbage, e, null));
      assertTrue(bad.getMessage().contains("bad magic"), bad.getMessage());
      assertThrows(IllegalArgumentException.class, () -> Drafter.named("oracle", e, null));
    }
  }
}
