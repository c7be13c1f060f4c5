package io.splitinfer.edge;

import static io.splitinfer.edge.ValidationTest.hidden;
import static io.splitinfer.edge.ValidationTest.msg;
import static io.splitinfer.edge.ValidationTest.open;
import static io.splitinfer.edge.ValidationTest.run;
import static io.splitinfer.edge.ValidationTest.waitFor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.SessionDone;
import io.splitinfer.proto.v1.SessionMode;
import io.splitinfer.proto.v1.Verified;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.LocalGenerator;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Speculative steps on the wire, over loopback TCP: every bad draft gets INVALID_ARGUMENT with a
 * clear description, is counted by reason, frees its session, and a concurrent speculative session
 * finishes with the right tokens; and the edge's prefix, rollback and cut at max_new_tokens, hand
 * driven at split 0 (the rows are the embeddings).
 */
class SpeculativeValidationTest {
  static final int LAYERS = 4;
  static final int D = 32;
  static final int V = 97;

  @TempDir static Path dir;
  static InferenceEngine engine;
  static final EdgeConfig CONFIG = EdgeConfig.defaults().withMaxChunkTokens(32);

  @BeforeAll
  static void load() throws Exception {
    engine = TestRig.tinyEngine(dir, LAYERS, 11);
  }

  @AfterAll
  static void close() {
    engine.close();
  }

  /** A speculative HiddenState at split 0: rows = embeddings of {@code ids}. */
  static HiddenState.Builder spec(String id, long pos, int[] ids, int... drafts) {
    HiddenState.Builder h = hidden(id, 0, pos, engine.embed(ids), ids.length, D);
    for (int d : drafts) {
      h.addDraftIds(d);
    }
    return h;
  }

  static String id() {
    return UUID.randomUUID().toString();
  }

  static int[] range(int n) {
    int[] ids = new int[n];
    for (int i = 0; i < n; i++) {
      ids[i] = 3 + i;
    }
    return ids;
  }

  void expectRefusal(String descriptionPart, String reason, Function<TestRig, Status> bad)
      throws Exception {
    try (TestRig rig = new TestRig(engine, CONFIG, TestRig.Transport.TCP)) {
      int[] prompt = {5, 6, 7, 8};
      CompletableFuture<int[]> healthy = new CompletableFuture<>();
      CountDownLatch firstToken = new CountDownLatch(1);
      CountDownLatch proceed = new CountDownLatch(1);
      Thread t =
          new Thread(
              () -> {
                try {
                  healthy.complete(
                      rig.client()
                          .generator()
                          .withSpeculation(3, true)
                          .generate(
                              GenerateRequest.greedy(prompt, 12),
                              2,
                              tok -> {
                                if (tok.getPosition() == prompt.length) {
                                  firstToken.countDown();
                                  try {
                                    proceed.await(10, TimeUnit.SECONDS);
                                  } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                  }
                                }
                              })
                          .tokenIds());
                } catch (Throwable e) {
                  healthy.completeExceptionally(e);
                }
              });
      t.start();
      assertTrue(firstToken.await(10, TimeUnit.SECONDS));
      Status s = bad.apply(rig);
      assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode(), "status " + s);
      assertTrue(
          s.getDescription() != null && s.getDescription().contains(descriptionPart),
          "description '" + s.getDescription() + "' lacks '" + descriptionPart + "'");
      proceed.countDown();
      int[] want = new LocalGenerator(engine).greedy(prompt, 12, 32).tokens();
      assertArrayEquals(want, healthy.get(10, TimeUnit.SECONDS));
      waitFor(() -> rig.service().liveSessions() == 0);
      assertEquals(0, rig.service().kvBytesReserved());
      waitFor(() -> rig.metrics.rejectedCount(reason) >= 1);
    }
  }

  @Test
  void draftIdOutsideTheVocabulary() throws Exception {
    for (int badId : new int[] {V, -1}) {
      String id = id();
      expectRefusal(
          "draft id " + badId + " outside [0, 97)",
          "bad_draft",
          rig -> run(rig, msg(open(id, 0)), msg(spec(id, 0, new int[] {5, 6}, badId))));
    }
  }

  @Test
  void moreDraftsThanTheEdgeAccepts() throws Exception {
    String id = id();
    int[] drafts = Arrays.copyOfRange(range(18), 1, 18);
    expectRefusal(
        "17 draft ids exceed the edge's max_draft_tokens 16",
        "draft_too_long",
        rig -> run(rig, msg(open(id, 0)), msg(spec(id, 0, range(18), drafts))));
  }

  @Test
  void rowsThatDoNotMatchTheDrafts() throws Exception {
    String id = id();
    expectRefusal(
        "3 hidden rows for 1 draft ids",
        "bad_draft",
        rig -> run(rig, msg(open(id, 0)), msg(spec(id, 0, range(3), 9))));
  }

  @Test
  void nonFiniteDraftRow() throws Exception {
    String id = id();
    float[] rows = engine.embed(range(3));
    rows[2 * D + 4] = Float.NaN;
    HiddenState.Builder h =
        spec(id, 0, range(3), 4, 5).setTensor(TensorCodec.encode(rows, DType.DTYPE_F32, 3, D));
    expectRefusal(
        "non-finite value (NaN) at row 2", "non_finite", rig -> run(rig, msg(open(id, 0)), msg(h)));
  }

  @Test
  void draftsInScoreModeOrWithoutSample() throws Exception {
    String id = id();
    expectRefusal(
        "draft_ids need a GENERATE session",
        "bad_draft",
        rig ->
            run(
                rig,
                msg(open(id, 0).setMode(SessionMode.SESSION_MODE_SCORE)),
                msg(spec(id, 0, range(2), 4).addTargetIds(4).addTargetIds(5))));
    String id2 = id();
    expectRefusal(
        "sample = true",
        "bad_draft",
        rig -> run(rig, msg(open(id2, 0)), msg(spec(id2, 0, range(2), 4).setSample(false))));
  }

  @Test
  void badDraftDistributions() throws Exception {
    String id = id();
    float[] oneRow = new float[V];
    Arrays.fill(oneRow, 1f / V);
    expectRefusal(
        "draft_probs must be F32 [2, 97]",
        "bad_draft_probs",
        rig ->
            run(
                rig,
                msg(open(id, 0)),
                msg(
                    spec(id, 0, range(3), 4, 5)
                        .setDraftProbs(TensorCodec.encode(oneRow, DType.DTYPE_F32, 1, V)))));
    String id2 = id();
    float[] notADistribution = new float[V];
    notADistribution[4] = 0.5f;
    expectRefusal(
        "sums to 0.5",
        "bad_draft_probs",
        rig ->
            run(
                rig,
                msg(open(id2, 0)),
                msg(
                    spec(id2, 0, range(2), 4)
                        .setDraftProbs(
                            TensorCodec.encode(notADistribution, DType.DTYPE_F32, 1, V)))));
  }

  /**
   * Greedy at split 0 by hand: a rejected draft gives the accepted prefix + the edge's token and
   * rolls the edge back (the next plain step at the rolled-back position gets the right token); a
   * round crossing max_new_tokens is cut there and the session ends with MAX_TOKENS.
   */
  @Test
  void prefixRollbackAndCutAtMaxNewTokens() throws Exception {
    int[] prompt = {5, 6, 7, 8};
    int[] e = new LocalGenerator(engine).greedy(prompt, 6, 32).tokens();
    int wrong = (e[2] + 1) % V;
    try (TestRig rig = new TestRig(engine, CONFIG, TestRig.Transport.TCP)) {
      String id = id();
      RawSession s = new RawSession(rig.channel);
      s.send(msg(open(id, 0).setMaxNewTokens(5)));
      assertTrue(s.next().hasAccepted());
      s.send(msg(hidden(id, 0, 0, engine.embed(prompt), 4, D)));
      assertEquals(e[0], s.next().getToken().getId());
      // position 4: inputs e0, e1, wrong, e3 -> e1 accepted, wrong rejected: tokens e1, e2
      s.send(msg(spec(id, 4, new int[] {e[0], e[1], wrong, e[3]}, e[1], wrong, e[3])));
      Verified v = s.next().getVerified();
      assertEquals(1, v.getAccepted());
      assertEquals(
          Arrays.asList(e[1], e[2]), v.getTokensList().stream().map(t -> t.getId()).toList());
      assertEquals(
          Arrays.asList(5L, 6L), v.getTokensList().stream().map(t -> t.getPosition()).toList());
      // the edge kept positions 4, 5: a plain step at 6 with e2 gives e3
      s.send(msg(hidden(id, 0, 6, engine.embed(new int[] {e[2]}), 1, D)));
      assertEquals(e[3], s.next().getToken().getId());
      // 4 tokens so far, max 5: a round of 2 right drafts is cut after its first token
      s.send(msg(spec(id, 7, new int[] {e[3], e[4], e[5]}, e[4], e[5])));
      EdgeMessage m = s.next();
      assertEquals(1, m.getVerified().getTokensCount());
      assertEquals(e[4], m.getVerified().getTokens(0).getId());
      assertEquals(1, m.getVerified().getAccepted());
      SessionDone done = s.next().getDone();
      assertEquals(SessionDone.Reason.REASON_MAX_TOKENS, done.getReason());
      assertEquals(5, done.getTokens());
      assertEquals(Status.Code.OK, s.awaitStatus().getCode());
      waitFor(() -> rig.service().liveSessions() == 0);
      assertEquals(0, rig.service().kvBytesReserved());
    }
  }
}
