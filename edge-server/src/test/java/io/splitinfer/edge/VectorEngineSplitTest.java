package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.splitinfer.model.checkpoint.Checkpoint;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.checkpoint.RandomCheckpoint;
import io.splitinfer.model.vector.VectorEngine;
import io.splitinfer.model.vector.VectorWeights;
import io.splitinfer.proto.v1.SwitchMethod;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.GenerationResult;
import io.splitinfer.ue.LocalGenerator;
import io.splitinfer.ue.SplitSource;
import io.splitinfer.ue.SwitchCostModel;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The vector engine on both sides of a real split over loopback TCP: every split point, a live
 * split switch by KV transfer and by recompute, and concurrent UEs through the decode batcher give
 * the monolithic tokens.
 */
class VectorEngineSplitTest {
  static final int LAYERS = 6;

  @TempDir Path dir;

  @Test
  void splitsAndLiveSwitchesEqualMonolithicOnTheVectorEngine() throws Exception {
    new RandomCheckpoint(RandomCheckpoint.tiny(LAYERS, false), DType.F32, 7, 1).write(dir);
    VectorWeights w;
    try (Checkpoint ck = Checkpoint.open(dir)) {
      w = VectorWeights.of(ck);
    }
    SplittableRandom r = new SplittableRandom(3);
    int[] prompt = new int[11];
    for (int i = 0; i < prompt.length; i++) {
      prompt[i] = 3 + r.nextInt(90);
    }
    EdgeConfig config = EdgeConfig.defaults().withMaxChunkTokens(4);
    try (VectorEngine engine = new VectorEngine(w, 2)) {
      int[] expected = new LocalGenerator(engine).greedy(prompt, 16, 4).tokens();
      try (TestRig rig = new TestRig(engine, config, TestRig.Transport.TCP)) {
        for (int p = 0; p <= LAYERS; p++) {
          GenerationResult g =
              rig.client().generator().generate(GenerateRequest.greedy(prompt, 16), p, t -> {});
          assertArrayEquals(expected, g.tokenIds(), "split " + p);
        }
        SplitSource script =
            step ->
                step < 4
                    ? new SplitSource.Choice(1, 1)
                    : step < 9 ? new SplitSource.Choice(5, 2) : new SplitSource.Choice(2, 3);
        for (SwitchMethod m :
            List.of(SwitchMethod.SWITCH_METHOD_KV_TRANSFER, SwitchMethod.SWITCH_METHOD_RECOMPUTE)) {
          GenerationResult g =
              rig.client()
                  .generator()
                  .withSwitchCosts(SwitchCostModel.Config.forced(m))
                  .generate(GenerateRequest.greedy(prompt, 16), script, t -> {});
          assertArrayEquals(expected, g.tokenIds(), "live switch by " + m);
          assertEquals(
              List.of(1, 5, 2), g.splits().stream().map(GenerationResult.SplitAt::split).toList());
        }
        assertEquals(0, rig.service().liveSessions());
      }
      // 6 concurrent UEs at different splits through the decode batcher (runLayersBatch)
      EdgeConfig batched = config.withBatchDecode(true, java.time.Duration.ofMillis(1));
      try (TestRig rig = new TestRig(engine, batched, TestRig.Transport.TCP)) {
        java.util.concurrent.ExecutorService pool =
            java.util.concurrent.Executors.newFixedThreadPool(6);
        try {
          List<java.util.concurrent.Future<int[]>> got = new java.util.ArrayList<>();
          List<int[]> want = new java.util.ArrayList<>();
          for (int u = 0; u < 6; u++) {
            int[] p = new int[5 + u];
            for (int i = 0; i < p.length; i++) {
              p[i] = 3 + r.nextInt(90);
            }
            int split = u % (LAYERS + 1);
            want.add(new LocalGenerator(engine).greedy(p, 12, 4).tokens());
            got.add(
                pool.submit(
                    () ->
                        rig.client()
                            .generator()
                            .generate(GenerateRequest.greedy(p, 12), split, t -> {})
                            .tokenIds()));
          }
          for (int u = 0; u < 6; u++) {
            assertArrayEquals(want.get(u), got.get(u).get(), "UE " + u + " through the batcher");
          }
        } finally {
          pool.shutdownNow();
        }
        assertEquals(0, rig.service().liveSessions());
      }
    }
  }
}
