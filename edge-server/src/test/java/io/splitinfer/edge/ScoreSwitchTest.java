package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.ue.LocalGenerator;
import io.splitinfer.ue.SplitSource;
import io.splitinfer.ue.StepScorer;
import io.splitinfer.ue.UeModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * SCORE mode with live split switches (the live loop's perplexity path) against the real edge:
 * step-by-step scoring that follows a script of splits, with the KV moving both ways, gives the
 * same log-probabilities as a fixed split and as the monolithic model, and frees everything.
 */
class ScoreSwitchTest {
  static final int LAYERS = 6;
  static final int CHUNK = 4;

  @TempDir static Path dir;
  static InferenceEngine engine;

  @BeforeAll
  static void load() throws Exception {
    engine = TestRig.tinyEngine(dir, LAYERS, 11);
  }

  @AfterAll
  static void close() {
    engine.close();
  }

  /** 1 -> 5 (UE gains 2..5) -> 0 (edge gains 1..5) -> 6 (UE gains all) -> 3, by step. */
  static SplitSource script() {
    return step -> {
      if (step < 4) {
        return new SplitSource.Choice(1, 1);
      } else if (step < 9) {
        return new SplitSource.Choice(5, 2);
      } else if (step < 13) {
        return new SplitSource.Choice(0, 4);
      } else if (step < 17) {
        return new SplitSource.Choice(6, 9);
      }
      return new SplitSource.Choice(3, 10);
    };
  }

  @ParameterizedTest
  @CsvSource({"IN_PROCESS, 1", "TCP, 1", "TCP, 3"})
  void liveSwitchesInScoreModeEqualFixedSplit(TestRig.Transport transport, int stepTokens)
      throws Exception {
    SplittableRandom r = new SplittableRandom(3);
    int[] tokens = new int[61];
    for (int i = 0; i < tokens.length; i++) {
      tokens[i] = 3 + r.nextInt(engine.config().vocabSize() - 3);
    }
    float[] local = new LocalGenerator(engine).targetLogprobs(tokens, 0, CHUNK);
    EdgeConfig config = EdgeConfig.defaults().withMaxChunkTokens(CHUNK);
    try (TestRig rig = new TestRig(engine, config, transport)) {
      float[] fixed = rig.client().scorer(3, DType.DTYPE_F32, "ue-fixed").targetLogprobs(tokens, 0);
      List<StepScorer.Step> steps = new ArrayList<>();
      StepScorer scorer =
          new StepScorer(
              rig.channel,
              new UeModel(TestRig.MODEL_ID, TestRig.SHA, engine),
              DType.DTYPE_F32,
              "ue-live");
      float[] live = scorer.score(tokens, stepTokens, script(), 0, steps::add);
      assertEquals(tokens.length - 1, live.length);
      for (int i = 0; i < live.length; i++) {
        assertEquals(fixed[i], live[i], 1e-4, "position " + i + " vs fixed split");
        assertEquals(local[i], live[i], 1e-4, "position " + i + " vs monolithic");
      }
      assertEquals(
          List.of(1, 5, 0, 6, 3),
          steps.stream().map(StepScorer.Step::split).distinct().toList(),
          "splits in force");
      assertEquals(4, steps.stream().filter(StepScorer.Step::switched).count());
      double sum = 0;
      for (StepScorer.Step s : steps) {
        sum += s.logprob();
        assertTrue(s.stepNanos() > 0);
      }
      double expected = 0;
      for (float f : live) {
        expected += f;
      }
      assertEquals(expected, sum, 1e-3);
      ValidationTest.waitFor(() -> rig.service().liveSessions() == 0);
      assertEquals(0, rig.service().kvBytesReserved());
      assertEquals(0, rig.service().kvBytesHeld());
    }
  }
}
