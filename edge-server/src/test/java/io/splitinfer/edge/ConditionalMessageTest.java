package io.splitinfer.edge;

import static io.splitinfer.edge.SpeculativeValidationTest.D;
import static io.splitinfer.edge.SpeculativeValidationTest.V;
import static io.splitinfer.edge.SpeculativeValidationTest.id;
import static io.splitinfer.edge.SpeculativeValidationTest.spec;
import static io.splitinfer.edge.ValidationTest.hidden;
import static io.splitinfer.edge.ValidationTest.msg;
import static io.splitinfer.edge.ValidationTest.open;
import static io.splitinfer.edge.ValidationTest.run;
import static io.splitinfer.edge.ValidationTest.waitFor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.SessionMode;
import io.splitinfer.proto.v1.Verified;
import io.splitinfer.ue.LocalGenerator;
import java.nio.file.Path;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Messages sent ahead (HiddenState.if_token) on the wire, over loopback TCP at split 0 (the rows
 * are the embeddings): a wrong guess and a start beyond the next position are dropped without an
 * answer and change nothing; a right guess runs as the step it is (one row, or a speculative
 * round); every malformed one gets INVALID_ARGUMENT with a clear description, is counted, frees its
 * session, and a concurrent speculative session finishes with the right tokens.
 */
class ConditionalMessageTest {
  private final SpeculativeValidationTest specChecks = new SpeculativeValidationTest();

  @TempDir static Path dir;

  /** The engine of SpeculativeValidationTest's helpers (split 0 rows, its refusal harness). */
  @BeforeAll
  static void load() throws Exception {
    SpeculativeValidationTest.engine =
        TestRig.tinyEngine(dir, SpeculativeValidationTest.LAYERS, 11);
  }

  @AfterAll
  static void close() {
    SpeculativeValidationTest.engine.close();
  }

  /** One row of token {@code id} at {@code pos}, sent ahead on the guess {@code guess}. */
  static HiddenState.Builder ahead(String session, long pos, int id, int guess) {
    return hidden(session, 0, pos, SpeculativeValidationTest.engine.embed(new int[] {id}), 1, D)
        .setIfToken(guess);
  }

  void refused(String descriptionPart, String reason, Function<TestRig, Status> bad)
      throws Exception {
    specChecks.expectRefusal(descriptionPart, reason, bad);
  }

  @Test
  void wrongGuessesAndRoundsThatDidNotHappenAreDroppedRightOnesRun() throws Exception {
    int[] prompt = {5, 6, 7, 8};
    int[] e = new LocalGenerator(SpeculativeValidationTest.engine).greedy(prompt, 6, 32).tokens();
    try (TestRig rig =
        new TestRig(
            SpeculativeValidationTest.engine,
            SpeculativeValidationTest.CONFIG,
            TestRig.Transport.TCP)) {
      String id = id();
      RawSession s = new RawSession(rig.channel);
      s.send(msg(open(id, 0).setMaxNewTokens(6)));
      assertTrue(s.next().hasAccepted());
      s.send(msg(hidden(id, 0, 0, SpeculativeValidationTest.engine.embed(prompt), 4, D)));
      assertEquals(e[0], s.next().getToken().getId());
      // position 4: a wrong guess (dropped), a round that waits on a verification that never
      // was (dropped), then the right guess (runs): the next message is the right one's Token
      s.send(msg(ahead(id, 4, (e[0] + 1) % V, (e[0] + 1) % V)));
      s.send(msg(spec(id, 9, new int[] {e[1], e[2]}, e[2]).setIfToken(e[1])));
      s.send(msg(ahead(id, 4, e[0], e[0])));
      assertEquals(e[1], s.next().getToken().getId());
      // a speculative round sent ahead on the right guess e1, its draft e2 right
      s.send(msg(spec(id, 5, new int[] {e[1], e[2]}, e[2]).setIfToken(e[1])));
      Verified v = s.next().getVerified();
      assertEquals(1, v.getAccepted());
      assertEquals(e[3], v.getTokens(1).getId());
      // the round after it, sent ahead on a bonus token it did not give: dropped; a plain step
      s.send(msg(spec(id, 7, new int[] {(e[3] + 1) % V, e[4]}, e[4]).setIfToken((e[3] + 1) % V)));
      s.send(msg(hidden(id, 0, 7, SpeculativeValidationTest.engine.embed(new int[] {e[3]}), 1, D)));
      assertEquals(e[4], s.next().getToken().getId());
      EdgeMetrics m = rig.service().metrics();
      assertEquals(2.0, m.conditionalRows("ran"));
      assertEquals(3.0, m.conditionalRows("dropped"));
      s.send(msg(hidden(id, 0, 8, SpeculativeValidationTest.engine.embed(new int[] {e[4]}), 1, D)));
      assertEquals(e[5], s.next().getToken().getId());
      assertTrue(s.next().hasDone());
      assertEquals(Status.Code.OK, s.awaitStatus().getCode());
      waitFor(() -> rig.service().liveSessions() == 0);
      assertEquals(0, rig.service().kvBytesReserved());
    }
  }

  @Test
  void notASampledGenerateStep() throws Exception {
    String score = id();
    refused(
        "if_token is for a sampled GENERATE step",
        "bad_conditional",
        rig ->
            run(
                rig,
                msg(open(score, 0).setMode(SessionMode.SESSION_MODE_SCORE)),
                msg(ahead(score, 0, 5, 5).addTargetIds(6))));
    String unsampled = id();
    refused(
        "sample false",
        "bad_conditional",
        rig -> run(rig, msg(open(unsampled, 0)), msg(ahead(unsampled, 0, 5, 5).setSample(false))));
    String twoRows = id();
    refused(
        "2 rows, 0 draft ids",
        "bad_conditional",
        rig ->
            run(
                rig,
                msg(open(twoRows, 0)),
                msg(
                    hidden(
                            twoRows,
                            0,
                            0,
                            SpeculativeValidationTest.engine.embed(new int[] {5, 6}),
                            2,
                            D)
                        .setIfToken(5))));
  }

  @Test
  void guessOutsideTheVocabulary() throws Exception {
    for (int bad : new int[] {V, -1}) {
      String id = id();
      refused(
          "if_token " + bad + " outside [0, " + V + ")",
          "bad_conditional",
          rig -> run(rig, msg(open(id, 0)), msg(ahead(id, 0, 5, bad))));
    }
  }

  @Test
  void noTokenYetOrBehindTheNextPosition() throws Exception {
    String first = id();
    refused(
        "its last token is at none yet",
        "bad_conditional",
        rig -> run(rig, msg(open(first, 0)), msg(ahead(first, 0, 5, 5))));
    String behind = id();
    refused(
        "if_token at position 2 but the edge's next position is 4",
        "bad_conditional",
        rig ->
            run(
                rig,
                msg(open(behind, 0)),
                msg(
                    hidden(
                        behind,
                        0,
                        0,
                        SpeculativeValidationTest.engine.embed(new int[] {5, 6, 7, 8}),
                        4,
                        D)),
                msg(ahead(behind, 2, 5, 5))));
  }

  /** A message that would be dropped (it starts beyond the next position) is still checked. */
  @Test
  void nonFiniteRowsAreRefusedEvenWhereTheyWouldBeDropped() throws Exception {
    String id = id();
    float[] row = SpeculativeValidationTest.engine.embed(new int[] {5});
    row[3] = Float.POSITIVE_INFINITY;
    refused(
        "non-finite value",
        "non_finite",
        rig ->
            run(
                rig,
                msg(open(id, 0)),
                msg(
                    hidden(
                        id,
                        0,
                        0,
                        SpeculativeValidationTest.engine.embed(new int[] {5, 6, 7, 8}),
                        4,
                        D)),
                msg(ahead(id, 9, 5, 5).setTensor(TensorCodec.encode(row, DType.DTYPE_F32, 1, D)))));
  }
}
