package io.splitinfer.model.privacy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.splitinfer.model.onnx.OnnxEngine;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.pkg.DefaultModel;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.tokenizer.TextTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The inversion suite on a tiny slice of the embedded default model's held-out text (the small
 * version of {@code model privacy}; the README's table comes from the command).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PrivacyAttackTest {
  private ModelPackage pkg;
  private int[] ids;

  @BeforeAll
  void locate(@TempDir Path home) throws Exception {
    DefaultModel m = new DefaultModel(home, getClass().getClassLoader());
    assumeTrue(m.embedded(), "default model not embedded yet");
    pkg = m.locate();
    try (TextTokenizer tok = pkg.openTokenizer()) {
      ids = tok.encode(Files.readString(pkg.file("heldout.txt").orElseThrow()));
    }
  }

  @Test
  void quickSliceRecoversEmbeddingsExactlyAndWritesTheReport(@TempDir Path out) throws Exception {
    int[] train = Arrays.copyOfRange(ids, 0, 512);
    int[] test = Arrays.copyOfRange(ids, 100_000, 100_008);
    List<WireCondition> conds =
        List.of(WireCondition.clean(), WireCondition.channel(6), WireCondition.int8Wire());
    List<PrivacyAttack.Result> rs;
    try (OnnxEngine e = pkg.openEngine(OnnxOptions.defaults().withThreads(1, 0))) {
      rs =
          new PrivacyAttack(e, new PrivacyAttack.Config(4, 512, 8, 1, 2, 256, 1e-3, 1), conds)
              .run(train, test, s -> {});
    }
    int layers = pkg.config().numLayers();
    assertEquals((layers + 1) * conds.size() * 3, rs.size());
    // p = 0 on a clean wire: the embedding row is found exactly by the weights attack
    PrivacyAttack.Result exact = find(rs, 0, "clean", "weights");
    assertEquals(4, exact.recovery().n());
    assertEquals(4, exact.recovery().successes(), exact.toString());
    // σ = 6 against embeddings of RMS ~0.05: (almost) nothing survives at p = 0
    assertTrue(find(rs, 0, "channel-sigma-6", "weights").recovery().rate() < 0.5);
    for (PrivacyAttack.Result r : rs) {
      assertTrue(r.recovery().lower() <= r.recovery().rate());
      assertTrue(r.recovery().rate() <= r.recovery().upper());
      assertTrue(r.hiddenRms() > 0);
    }
    PrivacyReport.write(out, rs);
    List<String> csv = Files.readAllLines(out.resolve("recovery.csv"));
    assertEquals(rs.size() + 1, csv.size());
    assertEquals(layers + 2, Files.readAllLines(out.resolve("floor-table.csv")).size());
    for (String a : PrivacyAttack.ATTACKS) {
      Path png = out.resolve("recovery-" + a + ".png");
      assertTrue(Files.size(png) > 1000, png.toString());
    }
  }

  private static PrivacyAttack.Result find(
      List<PrivacyAttack.Result> rs, int p, String cond, String attack) {
    return rs.stream()
        .filter(r -> r.split() == p && r.condition().equals(cond) && r.attack().equals(attack))
        .findFirst()
        .orElseThrow();
  }
}
