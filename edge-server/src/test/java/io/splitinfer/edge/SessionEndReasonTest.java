package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.proto.v1.SessionDone;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.GenerationResult;
import io.splitinfer.ue.LocalGenerator;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Why a generation ends, against the real edge (tiny model, max_positions 256): running out of
 * context is REASON_CONTEXT_FULL, not REASON_MAX_TOKENS; the token budget still wins when both end
 * at the same token; a prompt longer than max_positions is refused by the UE before it computes.
 */
class SessionEndReasonTest {
  static final int CHUNK = 16;
  @TempDir static Path dir;
  static InferenceEngine engine;
  static TestRig rig;

  @BeforeAll
  static void up() throws Exception {
    engine = TestRig.tinyEngine(dir, 3, 5);
    rig =
        new TestRig(
            engine, EdgeConfig.defaults().withMaxChunkTokens(CHUNK), TestRig.Transport.IN_PROCESS);
  }

  @AfterAll
  static void down() throws Exception {
    rig.close();
    engine.close();
  }

  static int[] prompt(int n) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = 3 + (i * 7) % 90;
    }
    return p;
  }

  @Test
  void runningOutOfContextHasItsOwnReason() {
    int max = engine.config().maxPositions();
    int[] p = prompt(max - 6);
    GenerationResult r =
        rig.client().generator().generate(GenerateRequest.greedy(p, 64), 1, t -> {});
    // Tokens at positions max-6 .. max: the one at max has no position left after it.
    assertEquals(7, r.tokenIds().length);
    assertEquals(SessionDone.Reason.REASON_CONTEXT_FULL, r.doneReason());
    int[] want = new LocalGenerator(engine).greedy(p, 7, CHUNK).tokens();
    assertArrayEquals(want, r.tokenIds());
    assertEquals(0, rig.service().liveSessions());
  }

  @Test
  void theTokenBudgetWinsWhenBothEndTogether() {
    int max = engine.config().maxPositions();
    GenerationResult r =
        rig.client().generator().generate(GenerateRequest.greedy(prompt(max - 6), 7), 2, t -> {});
    assertEquals(7, r.tokenIds().length);
    assertEquals(SessionDone.Reason.REASON_MAX_TOKENS, r.doneReason());
  }

  @Test
  void aPromptOverMaxPositionsIsRefusedByTheUe() {
    int max = engine.config().maxPositions();
    double bytesBefore = rig.metrics.registry().counter("edge_hidden_bytes_received").count();
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                rig.client()
                    .generator()
                    .generate(GenerateRequest.greedy(prompt(max + 1), 4), 1, t -> {}));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(
        e.getStatus().getDescription().contains("exceeds the edge's max_positions " + max),
        e.getStatus().getDescription());
    assertEquals(
        bytesBefore,
        rig.metrics.registry().counter("edge_hidden_bytes_received").count(),
        "no hidden state was computed or sent");
  }
}
