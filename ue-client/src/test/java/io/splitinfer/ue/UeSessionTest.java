package io.splitinfer.ue;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.checkpoint.RandomCheckpoint;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.reference.ReferenceEngine;
import io.splitinfer.proto.v1.SessionMode;
import io.splitinfer.proto.v1.UeMessage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The UE library on its own, against an in-process {@link FakeEdge} that runs the edge's layers
 * with a real engine: generation and scoring through {@link UeSession} equal the monolithic model,
 * with fixed splits and with live switches in both directions, and eval-ppl's step mode writes one
 * row per step.
 */
class UeSessionTest {
  static final int LAYERS = 5;
  static final int CHUNK = 4;
  static final String ID = "tiny";
  static final String SHA = "abc";

  @TempDir static Path dir;
  static InferenceEngine engine;
  Server server;
  ManagedChannel channel;
  FakeEdge edge;

  @BeforeAll
  static void load() throws Exception {
    new RandomCheckpoint(RandomCheckpoint.tiny(LAYERS, false), DType.F32, 5, 1).write(dir);
    engine = ReferenceEngine.load(dir);
  }

  @AfterAll
  static void closeEngine() {
    engine.close();
  }

  @BeforeEach
  void start() throws Exception {
    String name = "fake-edge-" + UUID.randomUUID();
    edge = new FakeEdge(engine, ID, SHA, CHUNK);
    server = InProcessServerBuilder.forName(name).directExecutor().addService(edge).build().start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  @AfterEach
  void stop() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  UeClient client() {
    return new UeClient(channel, new UeModel(ID, SHA, engine));
  }

  static int[] tokens(long seed, int n) {
    SplittableRandom r = new SplittableRandom(seed);
    int[] t = new int[n];
    for (int i = 0; i < n; i++) {
      t[i] = 3 + r.nextInt(engine.config().vocabSize() - 3);
    }
    return t;
  }

  /** 1 -> 4 (UE gains 2..4) -> 0 (edge gains 1..4) -> 5 (UE gains all) -> 2. */
  static SplitSource script() {
    return step -> {
      if (step < 3) {
        return new SplitSource.Choice(1, 1);
      } else if (step < 6) {
        return new SplitSource.Choice(4, 2);
      } else if (step < 9) {
        return new SplitSource.Choice(0, 5);
      } else if (step < 12) {
        return new SplitSource.Choice(5, 6);
      }
      return new SplitSource.Choice(2, 9);
    };
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 2, LAYERS})
  void generateAtAFixedSplitEqualsMonolithic(int split) {
    int[] prompt = tokens(1, 7);
    int[] want = new LocalGenerator(engine).greedy(prompt, 10, CHUNK).tokens();
    GenerationResult r =
        client().generator().generate(GenerateRequest.greedy(prompt, 10), split, t -> {});
    assertArrayEquals(want, r.tokenIds());
    SessionOpenCheck.single(edge.received, SessionMode.SESSION_MODE_GENERATE, split);
  }

  @Test
  void generateWithLiveSwitchesEqualsMonolithic() {
    int[] prompt = tokens(2, 6);
    int[] want = new LocalGenerator(engine).greedy(prompt, 16, CHUNK).tokens();
    GenerationResult r =
        client()
            .generator()
            .withSwitchCosts(
                SwitchCostModel.Config.forced(
                    io.splitinfer.proto.v1.SwitchMethod.SWITCH_METHOD_KV_TRANSFER))
            .generate(GenerateRequest.greedy(prompt, 16), script(), t -> {});
    assertArrayEquals(want, r.tokenIds());
    assertEquals(
        List.of(1, 4, 0, 5, 2), r.splits().stream().map(GenerationResult.SplitAt::split).toList());
    assertTrue(edge.received.stream().anyMatch(UeMessage::hasKv), "the UE sent KV to the edge");
  }

  @Test
  void generateWithLiveSwitchesByRecomputeEqualsMonolithic() {
    int[] prompt = tokens(2, 6);
    int[] want = new LocalGenerator(engine).greedy(prompt, 16, CHUNK).tokens();
    GenerationResult r =
        client()
            .generator()
            .withSwitchCosts(
                SwitchCostModel.Config.forced(
                    io.splitinfer.proto.v1.SwitchMethod.SWITCH_METHOD_RECOMPUTE))
            .generate(GenerateRequest.greedy(prompt, 16), script(), t -> {});
    assertArrayEquals(want, r.tokenIds());
    assertTrue(
        edge.received.stream().anyMatch(UeMessage::hasHistory),
        "the UE sent its hidden states for the edge to recompute");
    assertTrue(edge.received.stream().noneMatch(UeMessage::hasKv), "no KV crossed the link");
  }

  @Test
  void scoreWithLiveSwitchesEqualsFixedSplitAndMonolithic() {
    int[] t = tokens(3, 30);
    float[] local = new LocalGenerator(engine).targetLogprobs(t, 0, CHUNK);
    float[] fixed =
        client().scorer(2, io.splitinfer.proto.v1.DType.DTYPE_F32, "ue").targetLogprobs(t, 0);
    List<StepScorer.Step> steps = new ArrayList<>();
    float[] live =
        new StepScorer(
                channel, new UeModel(ID, SHA, engine), io.splitinfer.proto.v1.DType.DTYPE_F32, "ue")
            .score(t, 1, script(), 0, steps::add);
    for (int i = 0; i < live.length; i++) {
      assertEquals(local[i], live[i], 1e-4, "position " + i + " vs monolithic");
      assertEquals(fixed[i], live[i], 1e-4, "position " + i + " vs fixed split");
    }
    assertEquals(t.length - 1, steps.size());
    assertEquals(4, steps.stream().filter(StepScorer.Step::switched).count());
    assertEquals(
        List.of(1, 4, 0, 5, 2), steps.stream().map(StepScorer.Step::split).distinct().toList());
  }

  @Test
  void evalPplStepModeWritesOneRowPerStep() {
    int[] ids = tokens(4, 40);
    StringWriter text = new StringWriter();
    StepScorer scorer =
        new StepScorer(
            channel, new UeModel(ID, SHA, engine), io.splitinfer.proto.v1.DType.DTYPE_F32, "ue");
    // Windows of 16 tokens (15 targets each), 2 positions per step, at most 31 positions.
    EvalPplCommand.StepwiseResult r;
    try (PrintWriter csv = new PrintWriter(text)) {
      r = EvalPplCommand.stepwise(scorer, ids, 16, 2, 31, script(), csv);
    }
    String[] lines = text.toString().split("\n");
    assertEquals(EvalPplCommand.STEPS_HEADER, lines[0]);
    assertEquals(31, r.scored());
    // 15 targets -> 8 steps, 15 -> 8, 1 -> 1.
    assertEquals(17, r.steps());
    assertEquals(r.steps() + 1, lines.length);
    double sum = 0;
    long switches = 0;
    for (int i = 1; i < lines.length; i++) {
      String[] f = lines[i].split(",");
      assertEquals(7, f.length, lines[i]);
      assertEquals(i - 1, Long.parseLong(f[0]), "step");
      sum += Double.parseDouble(f[4]);
      switches += Integer.parseInt(f[6]);
    }
    assertEquals(r.switches(), switches);
    // The same targets scored locally, window by window (windows share one token).
    double local = 0;
    for (int[] w :
        new int[][] {
          Arrays.copyOfRange(ids, 0, 16),
          Arrays.copyOfRange(ids, 15, 31),
          Arrays.copyOfRange(ids, 30, 32)
        }) {
      for (float f : new LocalGenerator(engine).targetLogprobs(w, 0, CHUNK)) {
        local += f;
      }
    }
    assertEquals(local, sum, 1e-3);
    assertEquals(Math.exp(-local / 31), r.ppl(), 1e-3 * r.ppl());
  }

  @Test
  void aRefusedOpenSurfacesTheEdgesStatus() {
    edge.refuseOpen = Status.FAILED_PRECONDITION.withDescription("model mismatch: test");
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                client()
                    .generator()
                    .generate(GenerateRequest.greedy(new int[] {5}, 3), 1, t -> {}));
    assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
    assertEquals("model mismatch: test", e.getStatus().getDescription());
  }

  /** Checks the one SessionOpen the UE sent. */
  static final class SessionOpenCheck {
    static void single(List<UeMessage> received, SessionMode mode, int split) {
      List<UeMessage> opens = received.stream().filter(UeMessage::hasOpen).toList();
      assertEquals(1, opens.size());
      var o = opens.get(0).getOpen();
      assertEquals(mode, o.getMode());
      assertEquals(split, o.getSplit());
      assertEquals(ID, o.getModelId());
      assertEquals(SHA, o.getModelSha256());
      assertTrue(!o.getSessionId().isEmpty());
    }
  }
}
