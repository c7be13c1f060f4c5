package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.SamplingParams;
import io.splitinfer.proto.v1.SwitchMethod;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.GenerationResult;
import io.splitinfer.ue.LocalGenerator;
import io.splitinfer.ue.SplitScorer;
import io.splitinfer.ue.SplitSource;
import io.splitinfer.ue.SwitchCostModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Split == monolithic, token for token, over in-process and loopback TCP transports. */
class SplitEquivalenceTest {
  static final int LAYERS = 6;
  static final int CHUNK = 4;
  static final int NEW_TOKENS = 12;

  @TempDir static Path dir;
  static InferenceEngine engine;
  static EdgeConfig config = EdgeConfig.defaults().withMaxChunkTokens(CHUNK);

  @BeforeAll
  static void load() throws Exception {
    engine = TestRig.tinyEngine(dir, LAYERS, 7);
  }

  @AfterAll
  static void close() {
    engine.close();
  }

  static int[] prompt(long seed, int n) {
    SplittableRandom r = new SplittableRandom(seed);
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = 3 + r.nextInt(engine.config().vocabSize() - 3);
    }
    return p;
  }

  @ParameterizedTest
  @EnumSource(TestRig.Transport.class)
  void greedySplitEqualsMonolithicForEverySplitPoint(TestRig.Transport transport) throws Exception {
    int[] prompt = prompt(1, 10);
    int[] expected = new LocalGenerator(engine).greedy(prompt, NEW_TOKENS, CHUNK).tokens();
    try (TestRig rig = new TestRig(engine, config, transport)) {
      for (int p : new int[] {0, 1, LAYERS / 2, LAYERS - 1, LAYERS}) {
        GenerationResult r =
            rig.client()
                .generator()
                .generate(GenerateRequest.greedy(prompt, NEW_TOKENS), p, t -> {});
        assertArrayEquals(expected, r.tokenIds(), "split " + p + " over " + transport);
        assertEquals(NEW_TOKENS - 1, r.decodeSteps());
        assertEquals(32L * 4, r.floorBytesPerStep());
        assertTrue(r.bytesPerDecodeStep() > r.floorBytesPerStep());
      }
      assertEquals(0, rig.service().liveSessions());
      assertEquals(0, rig.service().kvBytesReserved());
    }
  }

  @ParameterizedTest
  @EnumSource(TestRig.Transport.class)
  void perplexityThroughTheSplitEqualsMonolithic(TestRig.Transport transport) throws Exception {
    int[] tokens = prompt(2, 23);
    float[] local = new LocalGenerator(engine).targetLogprobs(tokens, 0, CHUNK);
    double localNll = 0;
    for (float v : local) {
      localNll -= v;
    }
    double localPpl = Math.exp(localNll / local.length);
    try (TestRig rig = new TestRig(engine, config, transport)) {
      for (int p : new int[] {0, 1, 3, 5, 6}) {
        SplitScorer scorer = rig.client().scorer(p, DType.DTYPE_F32, "ue-ppl");
        float[] remote = scorer.targetLogprobs(tokens, 0);
        assertEquals(local.length, remote.length);
        double nll = 0;
        for (float v : remote) {
          nll -= v;
        }
        double ppl = Math.exp(nll / remote.length);
        assertEquals(localPpl, ppl, 1e-4 * localPpl, "split " + p);
        // Partial scoring (sliding windows score only the tail).
        float[] tail = scorer.targetLogprobs(tokens, 10);
        assertEquals(local.length - 10, tail.length);
        for (int i = 0; i < tail.length; i++) {
          assertEquals(local[10 + i], tail[i], 1e-4 * Math.abs(local[10 + i]) + 1e-6);
        }
      }
    }
  }

  @Test
  void sampledGenerationIsReproducibleAndIndependentOfTheSplit() throws Exception {
    int[] prompt = prompt(3, 6);
    SamplingParams sp =
        SamplingParams.newBuilder()
            .setTemperature(0.9f)
            .setTopK(20)
            .setTopP(0.95f)
            .setSeed(42)
            .build();
    try (TestRig rig = new TestRig(engine, config, TestRig.Transport.IN_PROCESS)) {
      GenerateRequest req = GenerateRequest.greedy(prompt, 15).withSampling(sp);
      int[] a = rig.client().generator().generate(req, 2, t -> {}).tokenIds();
      int[] b = rig.client().generator().generate(req, 5, t -> {}).tokenIds();
      assertArrayEquals(a, b);
    }
  }

  @Test
  void halfPrecisionWiresRunAndCarryFewerBytes() throws Exception {
    int[] prompt = prompt(4, 6);
    try (TestRig rig = new TestRig(engine, config, TestRig.Transport.TCP)) {
      for (DType d : new DType[] {DType.DTYPE_F16, DType.DTYPE_BF16, DType.DTYPE_INT8}) {
        GenerationResult r =
            rig.client()
                .generator()
                .generate(GenerateRequest.greedy(prompt, 6).withWireDtype(d), 3, t -> {});
        assertEquals(6, r.tokenIds().length);
        assertTrue(r.floorBytesPerStep() <= 32 * 2);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(TestRig.Transport.class)
  void liveSplitSwitchEqualsFixedSplit(TestRig.Transport transport) throws Exception {
    liveSwitch(transport, SwitchCostModel.Config.auto(), null);
  }

  /** The same script with every switch forced to one method; the edge counts that method. */
  @ParameterizedTest
  @EnumSource(
      value = SwitchMethod.class,
      names = {"SWITCH_METHOD_KV_TRANSFER", "SWITCH_METHOD_RECOMPUTE"})
  void liveSplitSwitchEqualsFixedSplitWithForcedMethod(SwitchMethod method) throws Exception {
    liveSwitch(TestRig.Transport.TCP, SwitchCostModel.Config.forced(method), method);
  }

  private void liveSwitch(
      TestRig.Transport transport, SwitchCostModel.Config costs, SwitchMethod counted)
      throws Exception {
    int[] prompt = prompt(5, 9);
    int[] expected = new LocalGenerator(engine).greedy(prompt, 16, CHUNK).tokens();
    // 1 -> 5 (UE gains layers 2..5) -> 0 (edge gains 1..5) -> 6 (UE gains all) -> 3.
    SplitSource script =
        step -> {
          if (step < 3) {
            return new SplitSource.Choice(1, 1);
          } else if (step < 7) {
            return new SplitSource.Choice(5, 2);
          } else if (step < 10) {
            return new SplitSource.Choice(0, 4);
          } else if (step < 13) {
            return new SplitSource.Choice(6, 9);
          }
          return new SplitSource.Choice(3, 10);
        };
    try (TestRig rig = new TestRig(engine, config, transport)) {
      GenerationResult r =
          rig.client()
              .generator()
              .withSwitchCosts(costs)
              .generate(GenerateRequest.greedy(prompt, 16), script, t -> {});
      assertArrayEquals(expected, r.tokenIds());
      assertEquals(
          List.of(1, 5, 0, 6, 3),
          r.splits().stream().map(GenerationResult.SplitAt::split).toList());
      assertEquals(0, rig.service().liveSessions());
      if (counted != null) {
        String tag = counted == SwitchMethod.SWITCH_METHOD_RECOMPUTE ? "recompute" : "transfer";
        assertEquals(
            4.0,
            rig.metrics
                .registry()
                .get("edge_switch_method_total")
                .tag("method", tag)
                .counter()
                .count());
      }
    }
  }

  @ParameterizedTest
  @EnumSource(TestRig.Transport.class)
  void concurrentUesAtDifferentSplitsAreAllCorrect(TestRig.Transport transport) throws Exception {
    for (boolean batch : new boolean[] {false, true}) {
      EdgeConfig c = batch ? config.withBatchDecode(true, java.time.Duration.ofMillis(1)) : config;
      try (TestRig rig = new TestRig(engine, c, transport)) {
        for (int ues : new int[] {2, 8}) {
          ExecutorService pool = Executors.newFixedThreadPool(ues);
          try {
            List<Future<int[]>> got = new ArrayList<>();
            List<int[]> want = new ArrayList<>();
            for (int u = 0; u < ues; u++) {
              int[] prompt = prompt(100 + u, 5 + u);
              int split = u % (LAYERS + 1);
              want.add(new LocalGenerator(engine).greedy(prompt, 10, CHUNK).tokens());
              got.add(
                  pool.submit(
                      () ->
                          rig.client()
                              .generator()
                              .generate(GenerateRequest.greedy(prompt, 10), split, t -> {})
                              .tokenIds()));
            }
            for (int u = 0; u < ues; u++) {
              assertArrayEquals(want.get(u), got.get(u).get(), "UE " + u + " batch=" + batch);
            }
          } finally {
            pool.shutdownNow();
          }
        }
        assertEquals(0, rig.service().liveSessions());
      }
    }
  }
}
