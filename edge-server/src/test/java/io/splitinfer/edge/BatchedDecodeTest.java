package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioServerSocketChannel;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.checkpoint.RandomCheckpoint;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.onnx.OnnxConverter;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.LocalGenerator;
import io.splitinfer.ue.UeClient;
import io.splitinfer.ue.UeModel;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Batched decode end to end, on the production engine (ONNX Runtime over a converted random
 * package): 16 UEs at mixed splits (0..L) and mixed prompt lengths generate at once through one
 * edge with {@code --batch-decode} and inline calls (work on the transport threads), and each UE's
 * greedy tokens equal the monolithic model's for that prompt alone. The decode batches really hold
 * several sessions, and a transport thread never waits for a batch: on a server with one event
 * loop, four UEs fill every batch of four (a blocking batcher would hold the loop, so no second
 * step could join and every batch would be one step after the whole window).
 */
class BatchedDecodeTest {
  private static final int LAYERS = 6;
  private static final int NEW_TOKENS = 12;

  @TempDir static Path dir;
  private static ModelPackage pkg;
  private static InferenceEngine engine;

  @BeforeAll
  static void convert() throws Exception {
    Path ckpt = dir.resolve("ckpt");
    new RandomCheckpoint(RandomCheckpoint.tiny(LAYERS, false), DType.F32, 16, 1).write(ckpt);
    new OnnxConverter(OnnxConverter.Options.of(DType.F32).withModelId("tiny-batch"))
        .convert(ckpt, dir.resolve("pkg"));
    pkg = ModelPackage.open(dir.resolve("pkg"));
    engine = pkg.openEngine(OnnxOptions.defaults().withThreads(1, 1));
  }

  @AfterAll
  static void close() {
    engine.close();
  }

  private SplitInferenceService service(EdgeConfig config, EdgeMetrics metrics) {
    return new SplitInferenceService(
        new EdgeModel(pkg.id(), pkg.sha256(), engine, id -> "<" + id + ">"), config, metrics);
  }

  /** Runs {@code ues} UEs at once against {@code port}; returns their tokens. */
  private static List<int[]> generate(int port, List<int[]> prompts, int[] splits)
      throws Exception {
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    ExecutorService pool = Executors.newFixedThreadPool(prompts.size());
    try {
      UeClient ue = new UeClient(ch, new UeModel(pkg.id(), pkg.sha256(), engine));
      List<Future<int[]>> got = new ArrayList<>();
      for (int u = 0; u < prompts.size(); u++) {
        int[] prompt = prompts.get(u);
        int split = splits[u];
        got.add(
            pool.submit(
                () ->
                    ue.generator()
                        .generate(GenerateRequest.greedy(prompt, NEW_TOKENS), split, t -> {})
                        .tokenIds()));
      }
      List<int[]> out = new ArrayList<>();
      for (Future<int[]> f : got) {
        out.add(f.get(120, TimeUnit.SECONDS));
      }
      return out;
    } finally {
      pool.shutdownNow();
      ch.shutdownNow();
    }
  }

  @Test
  void sixteenUesAtMixedSplitsAndLengthsEqualMonolithic() throws Exception {
    EdgeMetrics metrics = new EdgeMetrics(new SimpleMeterRegistry());
    EdgeConfig config =
        EdgeConfig.defaults()
            .withMaxChunkTokens(16)
            .withBatchDecode(true, Duration.ofMillis(5))
            .withBatchMax(16);
    Random rnd = new Random(7);
    List<int[]> prompts = new ArrayList<>();
    int[] splits = new int[16];
    for (int u = 0; u < 16; u++) {
      prompts.add(rnd.ints(2 + rnd.nextInt(60), 3, engine.config().vocabSize()).toArray());
      splits[u] = u % (LAYERS + 1);
    }
    try (EdgeServer server =
        new EdgeServer(service(config, metrics), metrics)
            .inlineCalls(true)
            .start(new InetSocketAddress("127.0.0.1", 0))) {
      List<int[]> got = generate(server.port(), prompts, splits);
      for (int u = 0; u < 16; u++) {
        int[] want = new LocalGenerator(engine).greedy(prompts.get(u), NEW_TOKENS, 16).tokens();
        assertArrayEquals(
            want,
            got.get(u),
            "UE " + u + " split " + splits[u] + " prompt " + prompts.get(u).length);
      }
      assertEquals(0, server.service().liveSessions());
      DistributionSummary sizes = metrics.registry().get("edge_decode_batch_size").summary();
      assertTrue(sizes.max() >= 2, "no decode batch held two sessions: max " + sizes.max());
    }
  }

  @Test
  void aBatchWaitingForItsWindowDoesNotHoldTheTransportThread() throws Exception {
    EdgeMetrics metrics = new EdgeMetrics(new SimpleMeterRegistry());
    // a window far longer than the test: only a full batch of 4 runs without waiting it out
    EdgeConfig config =
        EdgeConfig.defaults()
            .withMaxChunkTokens(16)
            .withBatchDecode(true, Duration.ofSeconds(30))
            .withBatchMax(4);
    NioEventLoopGroup boss = new NioEventLoopGroup(1);
    NioEventLoopGroup loop = new NioEventLoopGroup(1);
    try (EdgeServer server =
        new EdgeServer(service(config, metrics), metrics)
            .inlineCalls(true)
            .start(
                NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .bossEventLoopGroup(boss)
                    .workerEventLoopGroup(loop)
                    .channelType(NioServerSocketChannel.class))) {
      List<int[]> prompts =
          List.of(
              new int[] {5, 6, 7},
              new int[] {9, 10},
              new int[] {11, 12},
              new int[] {13, 14, 15, 16});
      int[] splits = {0, 2, 4, LAYERS};
      List<int[]> got = generate(server.port(), prompts, splits);
      for (int u = 0; u < prompts.size(); u++) {
        assertArrayEquals(
            new LocalGenerator(engine).greedy(prompts.get(u), NEW_TOKENS, 16).tokens(), got.get(u));
      }
      DistributionSummary sizes = metrics.registry().get("edge_decode_batch_size").summary();
      assertEquals(NEW_TOKENS - 1, sizes.count(), "one batch per decode step");
      assertEquals(4.0, sizes.max());
      assertEquals(4.0 * (NEW_TOKENS - 1), sizes.totalAmount(), "every batch held all 4 UEs");
    } finally {
      boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }
  }

  @Test
  void aUeThatGoesAwayMidBatchIsFreedAndTheOthersAreExact() throws Exception {
    EdgeMetrics metrics = new EdgeMetrics(new SimpleMeterRegistry());
    EdgeConfig config =
        EdgeConfig.defaults()
            .withMaxChunkTokens(16)
            .withBatchDecode(true, Duration.ofMillis(1))
            .withBatchMax(16);
    try (EdgeServer server =
        new EdgeServer(service(config, metrics), metrics)
            .inlineCalls(true)
            .start(new InetSocketAddress("127.0.0.1", 0))) {
      ManagedChannel leaving =
          NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      ExecutorService pool = Executors.newSingleThreadExecutor();
      try {
        // this UE drops its connection on its 4th token, while the others' steps are batched
        Future<?> gone =
            pool.submit(
                () -> {
                  int[] n = {0};
                  try {
                    new UeClient(leaving, new UeModel(pkg.id(), pkg.sha256(), engine))
                        .generator()
                        .generate(
                            GenerateRequest.greedy(new int[] {3, 4, 5}, 200),
                            1,
                            t -> {
                              if (++n[0] == 4) {
                                leaving.shutdownNow();
                              }
                            });
                  } catch (RuntimeException expected) {
                    // the UE's own channel went away
                  }
                  return null;
                });
        List<int[]> prompts = List.of(new int[] {7, 8}, new int[] {9, 10, 11}, new int[] {12, 13});
        int[] splits = {0, 3, LAYERS};
        List<int[]> got = generate(server.port(), prompts, splits);
        gone.get(60, TimeUnit.SECONDS);
        for (int u = 0; u < prompts.size(); u++) {
          assertArrayEquals(
              new LocalGenerator(engine).greedy(prompts.get(u), NEW_TOKENS, 16).tokens(),
              got.get(u));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.service().liveSessions() > 0 && System.nanoTime() < deadline) {
          Thread.sleep(20);
        }
        assertEquals(0, server.service().liveSessions());
        assertEquals(0, server.service().kvBytesReserved());
        assertEquals(0, metrics.rejectedCount("internal"));
      } finally {
        pool.shutdownNow();
        leaving.shutdownNow();
      }
    }
  }

  /**
   * SCORE mode with batching: one-position steps (batched, the head's logits from the batcher) and
   * three-position steps (the prefill pool), two sessions at once, both following the live switch
   * script 1 -> 5 -> 0 -> 6 -> 3, equal the monolithic log-probabilities.
   */
  @Test
  void scoreModeStepsWithLiveSwitchesEqualMonolithicWhileBatched() throws Exception {
    EdgeMetrics metrics = new EdgeMetrics(new SimpleMeterRegistry());
    EdgeConfig config =
        EdgeConfig.defaults()
            .withMaxChunkTokens(16)
            .withBatchDecode(true, Duration.ofMillis(2))
            .withBatchMax(16);
    java.util.SplittableRandom r = new java.util.SplittableRandom(5);
    int[] tokens = r.ints(41, 3, engine.config().vocabSize()).toArray();
    float[] local = new LocalGenerator(engine).targetLogprobs(tokens, 0, 16);
    try (EdgeServer server =
        new EdgeServer(service(config, metrics), metrics)
            .inlineCalls(true)
            .start(new InetSocketAddress("127.0.0.1", 0))) {
      ManagedChannel ch =
          NettyChannelBuilder.forAddress("127.0.0.1", server.port()).usePlaintext().build();
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        List<Future<float[]>> got = new ArrayList<>();
        for (int stepTokens : new int[] {1, 3}) {
          got.add(
              pool.submit(
                  () ->
                      new io.splitinfer.ue.StepScorer(
                              ch,
                              new UeModel(pkg.id(), pkg.sha256(), engine),
                              io.splitinfer.proto.v1.DType.DTYPE_F32,
                              "ue-score-" + stepTokens)
                          .score(tokens, stepTokens, ScoreSwitchTest.script(), 0, s -> {})));
        }
        for (Future<float[]> f : got) {
          float[] live = f.get(60, TimeUnit.SECONDS);
          assertEquals(local.length, live.length);
          for (int i = 0; i < live.length; i++) {
            assertEquals(local[i], live[i], 1e-4, "position " + i);
          }
        }
        ValidationTest.waitFor(() -> server.service().liveSessions() == 0);
        assertEquals(0, server.service().kvBytesReserved());
      } finally {
        pool.shutdownNow();
        ch.shutdownNow();
      }
    }
  }
}
