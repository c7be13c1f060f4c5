package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.ue.Drafter;
import io.splitinfer.ue.EarlyExitDrafter;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.GenerationResult;
import io.splitinfer.ue.LocalGenerator;
import io.splitinfer.ue.Lookahead;
import io.splitinfer.ue.LookupDrafter;
import io.splitinfer.ue.SplitGenerator;
import io.splitinfer.ue.SplitSource;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Lookahead (the UE computes its guess of the next token while the edge works) through real gRPC,
 * with guessed rows sent ahead as conditional rows and armed until their token arrives: the tokens
 * equal the whole model's, token for token, whether the guesses are all right, some or none (a
 * seeded property test over prompts, splits 0..L and guessers), with seeded sampling, across live
 * split switches with batched decode on; the hit counts are what the scripted guesses make them,
 * and the edge runs exactly the conditional rows whose guess was right.
 */
class LookaheadTest {
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

  static List<Arguments> transportsAndModes() {
    List<Arguments> a = new java.util.ArrayList<>();
    for (TestRig.Transport t : TestRig.Transport.values()) {
      a.add(Arguments.of(t, true));
      a.add(Arguments.of(t, false));
    }
    return a;
  }

  @ParameterizedTest
  @MethodSource("transportsAndModes")
  void tokensEqualTheWholeModelWhateverTheGuesses(TestRig.Transport transport, boolean sendAhead)
      throws Exception {
    SplittableRandom cases = new SplittableRandom(transport == TestRig.Transport.TCP ? 21 : 12);
    int n = transport == TestRig.Transport.TCP ? 6 : 12;
    long hits = 0;
    long misses = 0;
    long early = 0;
    try (TestRig rig = new TestRig(engine, CONFIG, transport)) {
      for (int c = 0; c < n; c++) {
        int[] prompt = prompt(cases, 1 + cases.nextInt(12));
        int split = cases.nextInt(LAYERS + 1);
        int newTokens = 1 + cases.nextInt(24);
        String what = "case " + c + ": split " + split + ", " + newTokens + " tokens";
        int[] expected = new LocalGenerator(engine).greedy(prompt, newTokens, CHUNK).tokens();
        int[] truth = TestRig.concat(prompt, expected);
        GenerateRequest req = GenerateRequest.greedy(prompt, newTokens);
        for (Drafter guesser :
            List.of(
                new ScriptDrafter(truth, 0.0, c),
                new ScriptDrafter(truth, 0.5, c),
                new ScriptDrafter(truth, 1.0, c),
                new EarlyExitDrafter(engine),
                new LookupDrafter(engine))) {
          SplitGenerator g = rig.client().generator().withLookahead(guesser, sendAhead);
          GenerationResult r = g.generate(req, split, t -> {});
          String who = what + ", " + guesser;
          assertArrayEquals(expected, r.tokenIds(), who);
          Lookahead.Stats st = g.lookahead().stats();
          // a guess before every decode step but the first
          assertEquals(Math.max(0, newTokens - 2), st.hits() + st.misses(), who);
          assertEquals(newTokens - 1, r.decodeSteps(), who);
          if (guesser instanceof ScriptDrafter s && s.wrong() == 0.0) {
            assertEquals(Math.max(0, newTokens - 2), st.hits(), who + ": every guess right");
          }
          if (guesser instanceof ScriptDrafter s && s.wrong() == 1.0) {
            assertEquals(0, st.hits(), who + ": every guess wrong");
          }
          assertTrue(st.sentEarly() <= st.hits(), who);
          hits += st.hits();
          misses += st.misses();
          early += st.sentEarly();
        }
      }
      assertTrue(hits > 20 && misses > 20, "hits " + hits + ", misses " + misses);
      assertTrue(early > 0, "some rows went out before their token was taken: " + early);
      EdgeMetrics m = rig.service().metrics();
      if (sendAhead) {
        // every row sent ahead was decided: run when its guess was right, dropped otherwise
        assertEquals(early, (long) m.conditionalRows("ran"));
        assertTrue(m.conditionalRows("dropped") > 0, "wrong guesses sent ahead were dropped");
      } else {
        assertEquals(0, m.conditionalRows("ran") + m.conditionalRows("dropped"));
      }
      ValidationTest.waitFor(() -> rig.service().liveSessions() == 0);
      assertEquals(0, rig.service().kvBytesReserved());
    }
  }

  /**
   * Pilots (every 3rd step) and the channel estimates the edge answers them with, between tokens: a
   * row is not sent on arrival before a step that owes a pilot, so the pilots go out at the same
   * steps as without lookahead, and the tokens are the same.
   */
  @Test
  void pilotsAndEstimatesBetweenTokens() throws Exception {
    int[] prompt = prompt(new SplittableRandom(8), 7);
    int[] expected = new LocalGenerator(engine).greedy(prompt, 26, CHUNK).tokens();
    try (TestRig rig = new TestRig(engine, CONFIG, TestRig.Transport.TCP)) {
      rig.service()
          .setPilotHandler(
              (session, ue, pilot) ->
                  java.util.Optional.of(
                      io.splitinfer.proto.v1.ChannelEstimate.newBuilder().setSigma(0.5f).build()));
      List<Long> plainPilots = new java.util.ArrayList<>();
      List<Long> aheadPilots = new java.util.ArrayList<>();
      GenerateRequest req = GenerateRequest.greedy(prompt, 26).withPilotEvery(3);
      GenerationResult plain = client(rig, plainPilots).generator().generate(req, 3, t -> {});
      SplitGenerator g =
          client(rig, aheadPilots)
              .generator()
              .withLookahead(new ScriptDrafter(TestRig.concat(prompt, expected), 0.0, 4));
      GenerationResult r = g.generate(req, 3, t -> {});
      assertArrayEquals(expected, plain.tokenIds());
      assertArrayEquals(expected, r.tokenIds());
      assertEquals(plainPilots, aheadPilots, "pilot sequence numbers");
      assertEquals(8, aheadPilots.size());
      assertEquals(plain.estimates().size(), r.estimates().size());
      assertEquals(24, g.lookahead().stats().hits());
    }
  }

  private static io.splitinfer.ue.UeClient client(TestRig rig, List<Long> pilots) {
    io.splitinfer.ue.PilotSource source = OnnxSplitTest.pilotSource();
    return new io.splitinfer.ue.UeClient(
        rig.channel,
        new io.splitinfer.ue.UeModel(TestRig.MODEL_ID, TestRig.SHA, engine),
        (session, seq) -> {
          pilots.add(seq);
          return source.pilot(session, seq);
        });
  }

  /** Live split switches (both directions, both methods by cost) with the decode batcher on. */
  @Test
  void lookaheadFollowsSplitSwitchesWithBatchedDecode() throws Exception {
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
          } else if (step < 12) {
            return new SplitSource.Choice(0, 5); // a new epoch, the same split
          }
          return new SplitSource.Choice(6, 9);
        };
    EdgeConfig batched = CONFIG.withBatchDecode(true, Duration.ofMillis(1));
    try (TestRig rig = new TestRig(engine, batched, TestRig.Transport.TCP)) {
      SplitGenerator g =
          rig.client()
              .generator()
              .withLookahead(new ScriptDrafter(TestRig.concat(prompt, expected), 0.2, 9));
      GenerationResult r = g.generate(GenerateRequest.greedy(prompt, 30), script, t -> {});
      assertArrayEquals(expected, r.tokenIds());
      assertEquals(List.of(1, 5, 0, 0, 6), r.splits().stream().map(a -> a.split()).toList());
      assertTrue(g.lookahead().stats().hits() > 10, "hits " + g.lookahead().stats());
      ValidationTest.waitFor(() -> rig.service().liveSessions() == 0);
      assertEquals(0, rig.service().kvBytesReserved());
    }
  }

  /**
   * Seeded sampling (temperature 1, top-k 8): the edge draws once per step it runs, so dropped
   * conditional rows draw nothing and the sampled tokens are those of the plain split, in both
   * modes; a guess of the end-of-sequence token is never sent ahead.
   */
  @Test
  void sampledTokensAreThoseOfThePlainSplit() throws Exception {
    SplittableRandom cases = new SplittableRandom(5);
    try (TestRig rig = new TestRig(engine, CONFIG, TestRig.Transport.TCP)) {
      for (int c = 0; c < 4; c++) {
        int[] prompt = prompt(cases, 3 + cases.nextInt(8));
        io.splitinfer.proto.v1.SamplingParams sp =
            io.splitinfer.proto.v1.SamplingParams.newBuilder()
                .setTemperature(1f)
                .setTopK(8)
                .setSeed(100 + c)
                .build();
        GenerateRequest req = GenerateRequest.greedy(prompt, 20).withSampling(sp);
        int split = 1 + cases.nextInt(LAYERS - 1);
        int[] plain = rig.client().generator().generate(req, split, t -> {}).tokenIds();
        int[] truth = TestRig.concat(prompt, plain);
        for (boolean ahead : new boolean[] {true, false}) {
          SplitGenerator g =
              rig.client().generator().withLookahead(new ScriptDrafter(truth, 0.4, c), ahead);
          assertArrayEquals(plain, g.generate(req, split, t -> {}).tokenIds(), "case " + c);
          assertTrue(g.lookahead().stats().hits() > 0, "case " + c);
        }
      }
      double before =
          rig.service().metrics().conditionalRows("ran")
              + rig.service().metrics().conditionalRows("dropped");
      // a guesser that always says EOS: no row goes ahead, every step runs as usual
      int[] prompt = prompt(cases, 5);
      int[] expected = new LocalGenerator(engine).greedy(prompt, 12, CHUNK).tokens();
      Drafter eos =
          new Drafter() {
            @Override
            public Draft draft(io.splitinfer.ue.UeSession s, int last, int k) {
              throw new UnsupportedOperationException("lookahead only");
            }

            @Override
            public int guess(io.splitinfer.ue.UeSession s, float[] row) {
              return engine.config().eosTokenId();
            }
          };
      SplitGenerator g = rig.client().generator().withLookahead(eos, true);
      assertArrayEquals(
          expected, g.generate(GenerateRequest.greedy(prompt, 12), 3, t -> {}).tokenIds());
      assertEquals(
          before,
          rig.service().metrics().conditionalRows("ran")
              + rig.service().metrics().conditionalRows("dropped"),
          "no EOS guess was sent ahead");
    }
  }
}
