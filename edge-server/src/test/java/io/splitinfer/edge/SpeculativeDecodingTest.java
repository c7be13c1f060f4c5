package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.model.draft.NgramTable;
import io.splitinfer.model.draft.NgramTrainer;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.proto.v1.SamplingParams;
import io.splitinfer.ue.EarlyExitDrafter;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.GenerationResult;
import io.splitinfer.ue.LocalGenerator;
import io.splitinfer.ue.LookupDrafter;
import io.splitinfer.ue.SpecDecoder;
import io.splitinfer.ue.SpecK;
import io.splitinfer.ue.SplitGenerator;
import io.splitinfer.ue.SplitSource;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Speculative decoding across the split through real gRPC: greedy output equals non-speculative
 * decoding token for token (a seeded property test over prompts, splits 0..L, k and drafters that
 * accept all, some or none), with split switches and batched decode on, and sampled output has the
 * non-speculative distribution (two-sample chi-square over seeds).
 */
class SpeculativeDecodingTest {
  static final int LAYERS = 6;
  static final int CHUNK = 8;

  @TempDir static Path dir;
  static InferenceEngine engine;
  static final EdgeConfig CONFIG = EdgeConfig.defaults().withMaxChunkTokens(CHUNK);

  @BeforeAll
  static void load() throws Exception {
    engine = TestRig.tinyEngine(dir, LAYERS, 7);
  }

  @AfterAll
  static void close() {
    engine.close();
  }

  static int[] prompt(SplittableRandom r, int n) {
    return TestRig.randomIds(engine, r, n);
  }

  @ParameterizedTest
  @EnumSource(TestRig.Transport.class)
  void greedySpeculationEqualsNonSpeculativeDecoding(TestRig.Transport transport) throws Exception {
    SplittableRandom cases = new SplittableRandom(transport == TestRig.Transport.TCP ? 15 : 51);
    int n = transport == TestRig.Transport.TCP ? 8 : 16;
    long accepted = 0;
    long rejectedRounds = 0;
    long roundsAhead = 0;
    double perRoundShort = 0;
    double perRoundFull = 0;
    try (TestRig rig = new TestRig(engine, CONFIG, transport)) {
      for (int c = 0; c < n; c++) {
        int[] prompt = prompt(cases, 1 + cases.nextInt(12));
        int split = cases.nextInt(LAYERS + 1);
        int k = 1 + cases.nextInt(CHUNK - 1);
        int newTokens = 1 + cases.nextInt(24);
        String what = "case " + c + ": split " + split + ", k " + k + ", " + newTokens + " tokens";
        int[] expected = new LocalGenerator(engine).greedy(prompt, newTokens, CHUNK).tokens();
        GenerateRequest req = GenerateRequest.greedy(prompt, newTokens);
        int[] plain = rig.client().generator().generate(req, split, t -> {}).tokenIds();
        assertArrayEquals(expected, plain, what + " (non-speculative)");

        SplitGenerator early = rig.client().generator().withSpeculation(k, cases.nextBoolean());
        GenerationResult r = early.generate(req, split, t -> {});
        assertArrayEquals(expected, r.tokenIds(), what + " (early exit)");
        assertEquals(newTokens - 1, early.speculation().stats().tokens(), what);

        SplitGenerator lookup = rig.client().generator().withSpeculation(k, false, "lookup");
        assertArrayEquals(
            expected, lookup.generate(req, split, t -> {}).tokenIds(), what + " (lookup)");

        // an n-gram draft table trained on this case's continuation and on noise: drafts that
        // agree and drafts that do not
        int[] noise = prompt(cases, 64);
        int[] text = TestRig.concat(prompt, expected);
        int[] blurred = text.clone(); // the same contexts followed by other tokens: shares < 1
        for (int i = 2; i < blurred.length; i += 3) {
          blurred[i] = cases.nextInt(engine.config().vocabSize());
        }
        NgramTable table =
            NgramTrainer.train(
                java.util.List.of(text, text, blurred, noise),
                engine.config().vocabSize(),
                2,
                1,
                "test");
        // rounds cut short by the table's shares in every other case, sent ahead in every third
        double minChance = c % 2 == 1 ? 0.6 : 0;
        boolean adaptive = minChance == 0 && cases.nextBoolean();
        SpecDecoder ngram =
            new SpecDecoder(
                new LookupDrafter(engine, table), new SpecK(k, adaptive, minChance), c % 3 == 0);
        assertArrayEquals(
            expected,
            rig.client()
                .generator()
                .withSpeculation(ngram)
                .generate(req, split, t -> {})
                .tokenIds(),
            what + " (n-gram table, least chance " + minChance + ")");
        roundsAhead += ngram.stats().roundsAhead();
        if (minChance > 0) {
          // the same rounds without the least chance draft k each wherever there is room
          SpecDecoder full =
              new SpecDecoder(new LookupDrafter(engine, table), new SpecK(k, false), c % 3 == 0);
          assertArrayEquals(
              expected,
              rig.client()
                  .generator()
                  .withSpeculation(full)
                  .generate(req, split, t -> {})
                  .tokenIds(),
              what);
          roundsAhead += full.stats().roundsAhead();
          perRoundShort += ngram.stats().drafted();
          perRoundFull += full.stats().drafted();
        }

        // scripted drafts, every next round sent ahead in every other case
        boolean ahead = c % 2 == 0;
        SpecDecoder script =
            new SpecDecoder(
                new ScriptDrafter(TestRig.concat(prompt, expected), ahead ? 0.1 : 0.3, c),
                new SpecK(ahead ? Math.min(k, 3) : k, false),
                ahead);
        GenerationResult s =
            rig.client().generator().withSpeculation(script).generate(req, split, t -> {});
        assertArrayEquals(expected, s.tokenIds(), what + " (scripted drafts, ahead " + ahead + ")");
        roundsAhead += script.stats().roundsAhead();
        if (!ahead) {
          assertEquals(0, script.stats().roundsAhead(), what);
        }
        SpecDecoder.Stats st = script.stats();
        assertEquals(newTokens - 1, st.tokens(), what);
        assertEquals(st.rounds(), s.decodeSteps(), what);
        assertTrue(st.accepted() <= st.drafted(), what);
        accepted += st.accepted();
        rejectedRounds += st.drafted() - st.accepted() > 0 ? 1 : 0;
      }
      assertTrue(accepted > 20, "drafts were accepted: " + accepted);
      assertTrue(
          perRoundShort < 0.9 * perRoundFull,
          "drafts with the least chance " + perRoundShort + ", without " + perRoundFull);
      assertTrue(roundsAhead > 2, "rounds went out ahead: " + roundsAhead);
      // every round that went out ahead ran on the edge; the others it dropped
      assertEquals(roundsAhead, (long) rig.metrics.conditionalRows("ran"));
      assertTrue(rig.metrics.conditionalRows("dropped") > 0, "wrong guesses were dropped");
      assertTrue(rejectedRounds > 0, "drafts were rejected");
      ValidationTest.waitFor(() -> rig.service().liveSessions() == 0);
      assertEquals(0, rig.service().kvBytesReserved());
      assertTrue(rig.metrics.specAccepted() >= accepted);
    }
  }

  /** Live split switches (both directions, both methods by cost) and the decode batcher on. */
  @Test
  void speculationFollowsSplitSwitchesWithBatchedDecode() throws Exception {
    int[] prompt = prompt(new SplittableRandom(3), 9);
    int[] expected = new LocalGenerator(engine).greedy(prompt, 30, CHUNK).tokens();
    SplitSource script =
        step -> {
          if (step < 3) {
            return new SplitSource.Choice(1, 1);
          } else if (step < 6) {
            return new SplitSource.Choice(5, 2);
          } else if (step < 9) {
            return new SplitSource.Choice(0, 4);
          }
          return new SplitSource.Choice(6, 9);
        };
    EdgeConfig batched = CONFIG.withBatchDecode(true, Duration.ofMillis(1));
    try (TestRig rig = new TestRig(engine, batched, TestRig.Transport.TCP)) {
      SpecDecoder spec =
          new SpecDecoder(
              new ScriptDrafter(TestRig.concat(prompt, expected), 0.2, 9),
              new SpecK(3, true),
              true);
      GenerationResult r =
          rig.client()
              .generator()
              .withSpeculation(spec)
              .generate(GenerateRequest.greedy(prompt, 30), script, t -> {});
      assertArrayEquals(expected, r.tokenIds());
      assertEquals(java.util.List.of(1, 5, 0, 6), r.splits().stream().map(a -> a.split()).toList());
      assertTrue(spec.stats().accepted() > 0);
      assertTrue(spec.stats().roundsAhead() > 0, "rounds sent ahead between switches");
      ValidationTest.waitFor(() -> rig.service().liveSessions() == 0);
      assertEquals(0, rig.service().kvBytesReserved());
    }
  }

  /**
   * The controller's cap (spec_k in its decisions): 0 stops drafting from the next round on, a
   * later decision lets it go on; greedy output is the same throughout.
   */
  @Test
  void theControllersSpecKCapsDraftingMidGeneration() throws Exception {
    int[] prompt = prompt(new SplittableRandom(5), 8);
    int[] expected = new LocalGenerator(engine).greedy(prompt, 24, CHUNK).tokens();
    try (TestRig rig = new TestRig(engine, CONFIG, TestRig.Transport.TCP)) {
      SpecDecoder off =
          new SpecDecoder(
              new ScriptDrafter(TestRig.concat(prompt, expected), 0.0, 9), new SpecK(3, false));
      GenerationResult none =
          rig.client()
              .generator()
              .withSpeculation(off)
              .generate(
                  GenerateRequest.greedy(prompt, 24),
                  step -> new SplitSource.Choice(3, 1, 0),
                  t -> {});
      assertArrayEquals(expected, none.tokenIds());
      assertEquals(0, off.stats().drafted(), "cap 0 from the start: no drafts");

      SpecDecoder capped =
          new SpecDecoder(
              new ScriptDrafter(TestRig.concat(prompt, expected), 0.0, 9), new SpecK(3, false));
      SplitSource script =
          step -> step < 6 ? new SplitSource.Choice(3, 1, 0) : new SplitSource.Choice(3, 2, 1);
      GenerationResult r =
          rig.client()
              .generator()
              .withSpeculation(capped)
              .generate(GenerateRequest.greedy(prompt, 24), script, t -> {});
      assertArrayEquals(expected, r.tokenIds());
      SpecDecoder.Stats st = capped.stats();
      assertTrue(st.drafted() > 0, "drafting resumed under cap 1");
      // steps 1..5 send no draft; every later round one, but the last may have no room for it
      assertTrue(
          st.drafted() <= st.rounds() - 5 && st.drafted() >= st.rounds() - 6,
          "drafted " + st.drafted() + " in " + st.rounds() + " rounds");
    }
  }

  /**
   * Temperature 1 (top-k 4): the 2nd, 3rd and 6th generated tokens (the later ones decided by
   * speculative rounds) have the same distribution with and without speculation, and with each next
   * round sent ahead, over 700 sampler seeds each (two-sample chi-square, alpha 0.001; all seeds
   * fixed, so the test is deterministic).
   */
  @Test
  void sampledSpeculationKeepsTheDistribution() throws Exception {
    int seeds = 700;
    int[] prompt = prompt(new SplittableRandom(4), 5);
    int[] at = {1, 2, 5};
    List<Map<Integer, int[]>> spec = new ArrayList<>();
    List<Map<Integer, int[]>> ahead = new ArrayList<>();
    for (int i = 0; i < at.length; i++) {
      spec.add(new HashMap<>());
      ahead.add(new HashMap<>());
    }
    try (TestRig rig = new TestRig(engine, CONFIG, TestRig.Transport.IN_PROCESS)) {
      long drafted = 0;
      long accepted = 0;
      long roundsAhead = 0;
      for (int g = 0; g < 3; g++) {
        for (int seed = 0; seed < seeds; seed++) {
          SamplingParams sp =
              SamplingParams.newBuilder().setTemperature(1f).setTopK(4).setSeed(seed).build();
          SplitGenerator gen = rig.client().generator();
          if (g > 0) {
            gen.withSpeculation(
                new SpecDecoder(new EarlyExitDrafter(engine), new SpecK(2, false), g == 2));
          }
          int[] t =
              gen.generate(GenerateRequest.greedy(prompt, 10).withSampling(sp), 3, x -> {})
                  .tokenIds();
          for (int i = 0; i < at.length; i++) {
            // column 0: without speculation; column 1: with (spec) / with, sent ahead (ahead)
            if (g == 0) {
              spec.get(i).computeIfAbsent(t[at[i]], x -> new int[2])[0]++;
              ahead.get(i).computeIfAbsent(t[at[i]], x -> new int[2])[0]++;
            } else {
              (g == 1 ? spec : ahead).get(i).computeIfAbsent(t[at[i]], x -> new int[2])[1]++;
            }
          }
          if (g > 0) {
            drafted += gen.speculation().stats().drafted();
            accepted += gen.speculation().stats().accepted();
            roundsAhead += gen.speculation().stats().roundsAhead();
          }
        }
      }
      assertTrue(drafted > 0 && accepted > 0 && accepted < drafted, accepted + "/" + drafted);
      assertTrue(roundsAhead > 0, "rounds went out ahead: " + roundsAhead);
    }
    for (int i = 0; i < at.length; i++) {
      ChiSquare.assertSameDistribution(spec.get(i), "token " + (at[i] + 1));
      ChiSquare.assertSameDistribution(ahead.get(i), "token " + (at[i] + 1) + ", sent ahead");
    }
  }
}
