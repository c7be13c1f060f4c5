package io.splitinfer.model.pkg;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitinfer.model.engine.SplitRunner;
import io.splitinfer.model.onnx.OnnxEngine;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.ppl.Perplexity;
import io.splitinfer.model.tokenizer.TextTokenizer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded default model against the values the training script computed with PyTorch ({@code
 * reference.json}). Skipped while the model is not embedded.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DefaultModelReferenceTest {
  private ModelPackage pkg;
  private JsonNode ref;

  @BeforeAll
  void locate(@TempDir Path home) throws Exception {
    DefaultModel m = new DefaultModel(home, getClass().getClassLoader());
    assumeTrue(m.embedded(), "default model not embedded yet");
    assumeTrue(
        getClass().getClassLoader().getResource(DefaultModel.RESOURCE_DIR + "reference.json")
            != null,
        "no reference.json");
    pkg = m.locate();
    ref = new ObjectMapper().readTree(pkg.file("reference.json").orElseThrow().toFile());
  }

  private static int[] ints(JsonNode a) {
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i).asInt();
    }
    return out;
  }

  @Test
  void logitsAndGreedyContinuationMatchPyTorch() throws Exception {
    int v = pkg.config().vocabSize();
    int[] first = ints(ref.get("heldout_first_ids"));
    try (OnnxEngine e = pkg.openEngine(OnnxOptions.defaults());
        TextTokenizer tok = pkg.openTokenizer()) {
      float[] logits;
      try (SplitRunner r = new SplitRunner(e, pkg.config().numLayers() / 2)) {
        logits = r.forward(first);
      }
      JsonNode p0 = ref.get("logits_position_0");
      JsonNode pl = ref.get("logits_last_position");
      double max = 0;
      for (int i = 0; i < v; i++) {
        max = Math.max(max, Math.abs(logits[i] - p0.get(i).asDouble()));
        max = Math.max(max, Math.abs(logits[(first.length - 1) * v + i] - pl.get(i).asDouble()));
      }
      assertTrue(max < 1e-3, "max |logit diff| " + max);

      JsonNode g = ref.get("greedy");
      int[] prompt = ints(g.get("prompt_ids"));
      assertArrayEquals(prompt, tok.encode(g.get("prompt").asText()));
      int[] expected = ints(g.get("generated_ids"));
      assertArrayEquals(expected, SplitRunner.greedy(e, 3, prompt, expected.length));
      assertEquals(g.get("generated_text").asText(), tok.decode(expected));
    }
  }

  @Test
  void heldoutTokenizationMatchesTraining() throws Exception {
    try (TextTokenizer tok = pkg.openTokenizer()) {
      int[] ids = tok.encode(Files.readString(pkg.file("heldout.txt").orElseThrow()));
      JsonNode h = ref.get("heldout_ppl");
      assertEquals(h.get("num_tokens").asInt(), ids.length);
      String joined =
          IntStream.of(ids).mapToObj(Integer::toString).collect(Collectors.joining(","));
      String sha =
          HexFormat.of()
              .formatHex(
                  MessageDigest.getInstance("SHA-256")
                      .digest(joined.getBytes(StandardCharsets.UTF_8)));
      assertEquals(h.get("token_ids_sha256").asText(), sha);
    }
  }

  @Test
  @Tag("heavy")
  void heldoutPerplexityReproducesTraining() throws Exception {
    JsonNode h = ref.get("heldout_ppl");
    try (OnnxEngine e = pkg.openEngine(OnnxOptions.defaults());
        TextTokenizer tok = pkg.openTokenizer()) {
      int[] ids = tok.encode(Files.readString(pkg.file("heldout.txt").orElseThrow()));
      var protocol = new Perplexity.Protocol(h.get("window").asInt(), h.get("stride").asInt());
      Perplexity.Result r =
          Perplexity.evaluate(ids, protocol, Perplexity.engineScorer(e, e, 0, 256));
      assertEquals(h.get("scored_tokens").asLong(), r.scoredTokens());
      double expected = h.get("ppl").asDouble();
      assertEquals(expected, r.ppl(), expected * 1e-4, "PPL");
    }
  }
}
