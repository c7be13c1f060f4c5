package io.splitinfer.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.splitinfer.edge.EdgeConfig;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.checkpoint.RandomCheckpoint;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.reference.ReferenceEngine;
import io.splitinfer.proto.v1.EdgeAssignment;
import io.splitinfer.proto.v1.EdgeCapacity;
import io.splitinfer.proto.v1.EdgeLoad;
import io.splitinfer.proto.v1.EdgeLoadAck;
import io.splitinfer.proto.v1.EdgeRegistration;
import io.splitinfer.proto.v1.GetPoolRequest;
import io.splitinfer.proto.v1.PoolEdge;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.ue.EdgeFailover;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.GenerationResult;
import io.splitinfer.ue.LocalGenerator;
import io.splitinfer.ue.PoolPlacement;
import io.splitinfer.ue.UeClient;
import io.splitinfer.ue.UeModel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pool of edges end to end in one JVM over loopback TCP: a controller, three edges that
 * register their capacity and report load through their ControllerLink, and eight UEs that ask the
 * controller for an edge (RegisterUe with a placement), connect there and generate greedily at
 * mixed splits. Checks that the placement is balanced (3/3/2, each edge served the sessions placed
 * on it), that every UE's tokens equal the monolithic model's, that a killed edge leaves the pool
 * while its UE fails over and still produces the same tokens, and that bad input from UEs and edges
 * (a bogus edge, absurd loads, a second edge taking a live id, heartbeats of unknown edges) gets a
 * specific status, is counted, and leaves the pool and the other edges serving.
 */
class EdgePoolSystemTest {
  static final int LAYERS = 4;
  static final int NEW_TOKENS = 12;
  @TempDir static Path dir;
  static InferenceEngine engine;

  @BeforeAll
  static void model() throws Exception {
    new RandomCheckpoint(RandomCheckpoint.tiny(LAYERS, false), DType.F32, 16, 1).write(dir);
    engine = ReferenceEngine.load(dir);
  }

  @AfterAll
  static void closeModel() {
    engine.close();
  }

  static int[] prompt(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int[] t = new int[4 + r.nextInt(8)];
    for (int i = 0; i < t.length; i++) {
      t[i] = 3 + r.nextInt(engine.config().vocabSize() - 3);
    }
    return t;
  }

  static EdgeConfig config() {
    return EdgeConfig.defaults().withMaxSessions(8).withKvBudgetBytes(64L << 20);
  }

  /** A UE of the pool: placed by the controller, fails over along the fallbacks. */
  record PlacedUe(String id, EdgeAssignment assignment, UeClient client, List<ManagedChannel> ch) {
    void close() {
      ch.forEach(ManagedChannel::shutdownNow);
    }
  }

  static PlacedUe place(PoolRig rig, String ueId, String edge) {
    EdgeAssignment a =
        PoolPlacement.assign(rig.controllerChannel, ueId, PoolRig.MODEL_ID, LAYERS, edge);
    List<ManagedChannel> ch = new ArrayList<>();
    for (String addr : PoolPlacement.addresses(a)) {
      String[] hp = addr.split(":");
      ch.add(NettyChannelBuilder.forAddress(hp[0], Integer.parseInt(hp[1])).usePlaintext().build());
    }
    UeClient c =
        new UeClient(
            ch,
            new UeModel(PoolRig.MODEL_ID, PoolRig.SHA, engine),
            null,
            new EdgeFailover.Policy(
                6, Duration.ofMillis(20), Duration.ofMillis(200), Duration.ofSeconds(10), 1));
    return new PlacedUe(ueId, a, c, ch);
  }

  @Test
  void eightUesOnThreeEdgesAreBalancedAndTheirTokensUnchanged() throws Exception {
    try (PoolRig rig = new PoolRig(engine, 3, config())) {
      List<PlacedUe> ues = new ArrayList<>();
      for (int i = 0; i < 8; i++) {
        ues.add(place(rig, "ue-" + i, ""));
      }
      Map<String, Integer> placed = new HashMap<>();
      for (PoolEdge e : rig.stub().getPool(GetPoolRequest.getDefaultInstance()).getEdgesList()) {
        placed.put(e.getEdgeId(), e.getUeIdsCount());
        assertEquals(PoolRig.MODEL_ID, e.getModelId());
        assertEquals(8, e.getCapacity().getMaxSessions());
      }
      assertEquals(Map.of("edge-1", 3, "edge-2", 3, "edge-3", 2), placed, "least loaded first");
      ExecutorService pool = Executors.newFixedThreadPool(8);
      try {
        List<Future<int[]>> runs = new ArrayList<>();
        for (int i = 0; i < ues.size(); i++) {
          PlacedUe ue = ues.get(i);
          int split = 1 + i % (LAYERS - 1);
          int[] prompt = prompt(100 + i);
          runs.add(
              pool.submit(
                  () ->
                      ue.client()
                          .generator()
                          .generate(
                              GenerateRequest.greedy(prompt, NEW_TOKENS).withUeId(ue.id()),
                              split,
                              t -> {})
                          .tokenIds()));
        }
        for (int i = 0; i < runs.size(); i++) {
          int[] want = new LocalGenerator(engine).greedy(prompt(100 + i), NEW_TOKENS, 64).tokens();
          assertArrayEquals(want, runs.get(i).get(60, TimeUnit.SECONDS), "UE " + i + " tokens");
        }
      } finally {
        pool.shutdownNow();
      }
      for (PoolRig.Edge e : rig.edges) {
        assertEquals(
            (double) placed.get(e.id), e.sessionsOpened(), e.id + " served the UEs placed on it");
        assertTrue(e.link.heartbeats() > 0, e.id + " reported its load");
      }
      // cli get's view: the edge one UE is on
      List<PoolEdge> mine =
          rig.stub().getPool(GetPoolRequest.newBuilder().setUeId("ue-0").build()).getEdgesList();
      assertEquals(1, mine.size());
      assertEquals(ues.get(0).assignment().getEdgeId(), mine.get(0).getEdgeId());
      String get = cli(rig, "get", "--ue", "ue-0");
      assertTrue(
          get.contains("edge: " + mine.get(0).getEdgeId() + " " + mine.get(0).getAddress()), get);
      String all = cli(rig, "pool");
      assertEquals(3, all.lines().filter(l -> l.startsWith("edge-")).count(), all);
      ues.forEach(PlacedUe::close);
    }
  }

  @Test
  void aKilledEdgeLeavesThePoolAndItsUeFailsOverWithTheSameTokens() throws Exception {
    try (PoolRig rig = new PoolRig(engine, 3, config())) {
      PlacedUe ue = place(rig, "victim", "edge-2");
      assertEquals("edge-2", ue.assignment().getEdgeId());
      assertEquals(2, ue.assignment().getFallbackAddressesCount());
      int[] prompt = prompt(7);
      CountDownLatch half = new CountDownLatch(1);
      int[] seen = {0};
      CompletableFuture<GenerationResult> run =
          CompletableFuture.supplyAsync(
              () ->
                  ue.client()
                      .generator()
                      .generate(
                          GenerateRequest.greedy(prompt, NEW_TOKENS).withUeId("victim"),
                          2,
                          t -> {
                            if (++seen[0] == NEW_TOKENS / 2) {
                              half.countDown();
                              try {
                                Thread.sleep(50); // hold the session open while the edge dies
                              } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                              }
                            }
                          }));
      assertTrue(half.await(30, TimeUnit.SECONDS));
      rig.edge("edge-2").kill();
      GenerationResult g = run.get(60, TimeUnit.SECONDS);
      assertArrayEquals(
          new LocalGenerator(engine).greedy(prompt, NEW_TOKENS, 64).tokens(), g.tokenIds());
      assertFalse(g.recoveries().isEmpty(), "the UE noticed the dead edge and resumed elsewhere");
      PoolRig.await(() -> rig.pool().size() == 2, "the killed edge left the pool");
      assertTrue(rig.counter("controller_pool_removed_total", "why", "stream_ended") >= 1);
      assertTrue(
          rig.stub()
              .getPool(GetPoolRequest.newBuilder().setUeId("victim").build())
              .getEdgesList()
              .isEmpty(),
          "its UE lost the assignment");
      EdgeAssignment again =
          PoolPlacement.assign(rig.controllerChannel, "victim", PoolRig.MODEL_ID, LAYERS, "");
      assertNotEquals("edge-2", again.getEdgeId());
      StatusRuntimeException gone =
          assertThrows(
              StatusRuntimeException.class,
              () ->
                  PoolPlacement.assign(
                      rig.controllerChannel, "u2", PoolRig.MODEL_ID, LAYERS, "edge-2"));
      assertEquals(Status.Code.NOT_FOUND, gone.getStatus().getCode());
      ue.close();
    }
  }

  @Test
  void badInputFromUesAndEdgesIsRefusedCountedAndHarmless() throws Exception {
    try (PoolRig rig = new PoolRig(engine, 2, config())) {
      // a UE naming a bogus edge
      StatusRuntimeException bogus =
          assertThrows(
              StatusRuntimeException.class,
              () ->
                  PoolPlacement.assign(
                      rig.controllerChannel, "u1", PoolRig.MODEL_ID, LAYERS, "edge-x"));
      assertEquals(Status.Code.NOT_FOUND, bogus.getStatus().getCode());
      assertTrue(bogus.getStatus().getDescription().contains("edge-x"));
      assertEquals(1.0, rig.counter("controller_pool_refusals_total", "reason", "bogus_edge"));
      // a UE whose model no edge serves
      StatusRuntimeException model =
          assertThrows(
              StatusRuntimeException.class,
              () -> PoolPlacement.assign(rig.controllerChannel, "u1", "other", LAYERS, ""));
      assertEquals(Status.Code.FAILED_PRECONDITION, model.getStatus().getCode());
      // a second process registering a live edge's id
      SplitControllerGrpc.SplitControllerBlockingStub stub = rig.stub();
      StatusRuntimeException dup =
          assertThrows(
              StatusRuntimeException.class,
              () -> stub.registerEdge(registration("edge-1", "10.9.9.9:50051")));
      assertEquals(Status.Code.ALREADY_EXISTS, dup.getStatus().getCode());
      assertEquals(1.0, rig.counter("controller_pool_refusals_total", "reason", "duplicate_edge"));
      // a rogue edge that reports absurd loads: each one ends its stream and its membership
      EdgeLoad[] absurd = {
        EdgeLoad.newBuilder().setActiveSessions(-3).build(),
        EdgeLoad.newBuilder().setDecodeQueue(Double.NaN).build(),
        EdgeLoad.newBuilder().setKvBytes(Long.MAX_VALUE).build()
      };
      for (EdgeLoad bad : absurd) {
        stub.registerEdge(registration("rogue", "127.0.0.1:1"));
        Status s = heartbeat(rig, "rogue", bad);
        assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode(), bad.toString());
        PoolRig.await(() -> rig.pool().size() == 2, "the rogue edge is out of the pool");
      }
      assertEquals(3.0, rig.counter("controller_pool_refusals_total", "reason", "bad_load"));
      // a heartbeat of an edge that never registered
      assertEquals(
          Status.Code.NOT_FOUND, heartbeat(rig, "ghost", EdgeLoad.getDefaultInstance()).getCode());
      // the pool still places on the real edges and they still serve exactly
      assertEquals(2, rig.pool().size());
      PlacedUe ue = place(rig, "after", "");
      assertTrue(ue.assignment().getEdgeId().startsWith("edge-"));
      int[] prompt = prompt(3);
      assertArrayEquals(
          new LocalGenerator(engine).greedy(prompt, NEW_TOKENS, 64).tokens(),
          ue.client()
              .generator()
              .generate(GenerateRequest.greedy(prompt, NEW_TOKENS).withUeId("after"), 1, t -> {})
              .tokenIds());
      ue.close();
    }
  }

  /** {@code controller cli ARGS --target the rig's controller --plaintext}: its standard output. */
  static String cli(PoolRig rig, String... args) {
    java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
    java.io.PrintStream old = System.out;
    System.setOut(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
    int rc;
    try {
      List<String> a = new ArrayList<>(List.of("cli"));
      a.addAll(List.of(args));
      a.addAll(List.of("--target", "127.0.0.1:" + rig.controller.port(), "--plaintext"));
      rc = io.splitinfer.controller.ControllerMain.commandLine().execute(a.toArray(String[]::new));
    } finally {
      System.setOut(old);
    }
    String out = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(0, rc, out);
    return out;
  }

  static EdgeRegistration registration(String id, String address) {
    return EdgeRegistration.newBuilder()
        .setEdgeId(id)
        .setAdvertisedAddress(address)
        .setModelId(PoolRig.MODEL_ID)
        .setNumLayers(LAYERS)
        .setCapacity(
            EdgeCapacity.newBuilder()
                .setMaxSessions(8)
                .setKvBudgetBytes(1 << 20)
                .setMinSplit(0)
                .setMaxSplit(LAYERS))
        .build();
  }

  /** Opens a heartbeat as {@code edgeId}, sends a valid load and then {@code load}: the status. */
  static Status heartbeat(PoolRig rig, String edgeId, EdgeLoad load) throws Exception {
    AtomicReference<Status> end = new AtomicReference<>();
    CountDownLatch done = new CountDownLatch(1);
    StreamObserver<EdgeLoad> beats =
        SplitControllerGrpc.newStub(rig.controllerChannel)
            .edgeHeartbeat(
                new StreamObserver<EdgeLoadAck>() {
                  @Override
                  public void onNext(EdgeLoadAck v) {}

                  @Override
                  public void onError(Throwable t) {
                    end.set(Status.fromThrowable(t));
                    done.countDown();
                  }

                  @Override
                  public void onCompleted() {
                    end.set(Status.OK);
                    done.countDown();
                  }
                });
    beats.onNext(EdgeLoad.newBuilder().setEdgeId(edgeId).build());
    beats.onNext(load.toBuilder().setEdgeId(edgeId).build());
    assertTrue(done.await(10, TimeUnit.SECONDS), "the controller ends a refused stream");
    beats.onCompleted();
    return end.get();
  }
}
