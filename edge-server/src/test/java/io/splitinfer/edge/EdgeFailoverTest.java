package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.channelsim.ChannelSimServer;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.ue.Drafter;
import io.splitinfer.ue.EdgeFailover;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.GenerationResult;
import io.splitinfer.ue.LocalGenerator;
import io.splitinfer.ue.SpecDecoder;
import io.splitinfer.ue.SpecK;
import io.splitinfer.ue.UeClient;
import io.splitinfer.ue.UeModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.IntConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The UE's failover against real edge servers on loopback TCP: the edge (or channel-sim in front of
 * it, or the network) dies at a seeded random decode step, the UE reconnects (the next edge, or the
 * same one once it is back on its port), replays the token history and goes on; greedy output is
 * token for token the uninterrupted run's. Every case records its time to recover (failure noticed
 * to first token from the new session) into target/failover/recovery.csv, printed as a table.
 */
class EdgeFailoverTest {
  static final int LAYERS = 6;
  static final int CHUNK = 4;
  static final int NEW_TOKENS = 24;
  static final EdgeConfig CONFIG = EdgeConfig.defaults().withMaxChunkTokens(CHUNK);
  static final EdgeFailover.Policy POLICY =
      new EdgeFailover.Policy(
          20, Duration.ofMillis(50), Duration.ofMillis(400), Duration.ofSeconds(5), 7);
  static final List<String[]> RECOVERIES = new CopyOnWriteArrayList<>();

  @TempDir static Path dir;
  static InferenceEngine engine;
  final List<AutoCloseable> closing = new ArrayList<>();

  @BeforeAll
  static void load() throws IOException {
    engine = TestRig.tinyEngine(dir, LAYERS, 11);
  }

  @AfterAll
  static void report() throws IOException {
    engine.close();
    Path out = Path.of("target", "failover", "recovery.csv");
    Files.createDirectories(out.getParent());
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out))) {
      w.println("case,seed,split,tokens_before,attempts,edge_index,replayed_positions,recovery_ms");
      RECOVERIES.forEach(r -> w.println(String.join(",", r)));
    }
    System.out.printf(Locale.ROOT, "%-22s %4s %5s %13s %8s %8s %11s%n", (Object[]) header());
    for (String[] r : RECOVERIES) {
      System.out.printf(Locale.ROOT, "%-22s %4s %5s %13s %8s %8s %11s%n", (Object[]) row(r));
    }
  }

  private static String[] header() {
    return new String[] {
      "case", "seed", "split", "tokens_before", "attempts", "replayed", "recovery_ms"
    };
  }

  private static String[] row(String[] r) {
    return new String[] {r[0], r[1], r[2], r[3], r[4], r[6], r[7]};
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closing.size() - 1; i >= 0; i--) {
      closing.get(i).close();
    }
  }

  EdgeServer edge(int port) throws IOException {
    SplitInferenceService service =
        new SplitInferenceService(
            new EdgeModel(TestRig.MODEL_ID, TestRig.SHA, engine, id -> "<" + id + ">"),
            CONFIG,
            new EdgeMetrics(new SimpleMeterRegistry()));
    EdgeServer s =
        new EdgeServer(service, new EdgeMetrics(new SimpleMeterRegistry()))
            .start(new InetSocketAddress("127.0.0.1", port));
    closing.add(s);
    return s;
  }

  ChannelSimServer sim(int port, int edgePort) throws IOException {
    ChannelSimServer s =
        new ChannelSimServer(
                new ChannelSimServer.Config(
                    "127.0.0.1",
                    port,
                    "127.0.0.1:" + edgePort,
                    ChannelParams.IDEAL,
                    null,
                    0,
                    64 << 20),
                new SimpleMeterRegistry())
            .start();
    closing.add(s);
    return s;
  }

  ManagedChannel channel(int port) {
    ManagedChannel c =
        NettyChannelBuilder.forAddress("127.0.0.1", port)
            .usePlaintext()
            .maxInboundMessageSize(64 << 20)
            .build();
    closing.add(() -> c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS));
    return c;
  }

  static int[] prompt(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    int[] t = new int[5 + r.nextInt(10)];
    for (int i = 0; i < t.length; i++) {
      t[i] = 3 + r.nextInt(engine.config().vocabSize() - 3);
    }
    return t;
  }

  /**
   * Generates {@code NEW_TOKENS} greedy tokens over {@code edges}, calling {@code kill} once after
   * the seeded random token index; checks them against the monolithic model and records the
   * recovery.
   */
  GenerationResult failover(
      String name, long seed, List<ManagedChannel> edges, EdgeFailover.Policy policy, Kill kill) {
    SplittableRandom r = new SplittableRandom(seed);
    int split = r.nextInt(LAYERS + 1);
    // speculation brings tokens several at a time, and with a round sent ahead two rounds' worth
    // may already be here when the edge dies: kill it at the first round's first token, while
    // the next round is in flight, so that tokens are still missing
    int killAt = seed % 4 == 2 ? 2 : 1 + r.nextInt(NEW_TOKENS - 2);
    int[] prompt = prompt(seed);
    int[] want = new LocalGenerator(engine).greedy(prompt, NEW_TOKENS, CHUNK).tokens();
    UeClient ue =
        new UeClient(edges, new UeModel(TestRig.MODEL_ID, TestRig.SHA, engine), null, policy);
    int[] seen = {0};
    // seeds 0 mod 4 decode with lookahead whose guesses are all right, seeds 2 mod 4 with
    // speculation whose drafts are all right and whose next rounds go out ahead: a guess or a
    // round made on the session that died must not be sent on the next one (its KV is not in the
    // new session's cache)
    Drafter guesser =
        seed % 4 == 0 ? new ScriptDrafter(TestRig.concat(prompt, want), 0.0, seed) : null;
    SpecDecoder spec =
        seed % 4 == 2
            ? new SpecDecoder(
                new ScriptDrafter(TestRig.concat(prompt, want), 0.0, seed),
                new SpecK(2, false),
                true)
            : null;
    GenerationResult g =
        ue.generator()
            .withLookahead(guesser)
            .withSpeculation(spec)
            .generate(
                GenerateRequest.greedy(prompt, NEW_TOKENS),
                split,
                t -> {
                  if (++seen[0] == killAt) {
                    kill.accept(killAt);
                  }
                });
    assertArrayEquals(want, g.tokenIds(), name + " seed " + seed + ": tokens differ");
    assertEquals(NEW_TOKENS, seen[0], "every token reached the caller once");
    assertFalse(g.recoveries().isEmpty(), "the failure was noticed and recovered");
    if (spec != null) {
      assertTrue(spec.stats().roundsAhead() > 0, "rounds went out ahead");
    }
    assertTrue(g.bytesSent() > 0, "bytes of every session are counted");
    for (GenerationResult.Recovery rec : g.recoveries()) {
      RECOVERIES.add(
          new String[] {
            name,
            Long.toString(seed),
            Integer.toString(split),
            Integer.toString(rec.tokensBefore()),
            Integer.toString(rec.attempts()),
            Integer.toString(rec.edgeIndex()),
            Integer.toString(rec.replayedPositions()),
            String.format(Locale.ROOT, "%.1f", rec.nanos() / 1e6)
          });
    }
    return g;
  }

  /** What the test does to the system after token {@code index}. */
  interface Kill extends IntConsumer {}

  static void unchecked(ThrowingRunnable r) {
    try {
      r.run();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  interface ThrowingRunnable {
    void run() throws Exception;
  }

  static void later(long millis, ThrowingRunnable r) {
    Thread t =
        new Thread(
            () -> {
              unchecked(() -> Thread.sleep(millis));
              unchecked(r);
            },
            "restart");
    t.setDaemon(true);
    t.start();
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3})
  void edgeKilledTheNextEdgeTakesOver(long seed) throws Exception {
    EdgeServer a = edge(0);
    EdgeServer b = edge(0);
    GenerationResult g =
        failover(
            "edge killed, next edge",
            seed,
            List.of(channel(a.port()), channel(b.port())),
            POLICY,
            k -> unchecked(a::kill));
    assertEquals(1, g.recoveries().size());
    assertEquals(1, g.recoveries().get(0).edgeIndex(), "the second edge took over");
    assertEquals(0, b.service().liveSessions() + a.service().liveSessions());
  }

  @ParameterizedTest
  @ValueSource(longs = {4, 5, 6})
  void edgeKilledAndRestartedOnTheSamePort(long seed) throws Exception {
    EdgeServer a = edge(0);
    int port = a.port();
    failover(
        "edge restarted",
        seed,
        List.of(channel(port)),
        POLICY,
        k -> {
          unchecked(a::kill);
          later(300, () -> edge(port));
        });
  }

  @ParameterizedTest
  @ValueSource(longs = {7, 8, 9})
  void channelSimKilledAndRestarted(long seed) throws Exception {
    EdgeServer e = edge(0);
    ChannelSimServer sim = sim(0, e.port());
    int port = sim.port();
    failover(
        "channel-sim restarted",
        seed,
        List.of(channel(port)),
        POLICY,
        k -> {
          unchecked(sim::kill);
          later(300, () -> sim(port, e.port()));
        });
  }

  @ParameterizedTest
  @ValueSource(longs = {10, 11, 12})
  void networkGoesSilentThenComesBack(long seed) throws Exception {
    EdgeServer e = edge(0);
    TcpRelay relay = new TcpRelay(e.port());
    closing.add(relay);
    failover(
        "network silent 1.5 s",
        seed,
        List.of(channel(relay.port())),
        POLICY.withStallTimeout(Duration.ofMillis(400)),
        k -> {
          relay.pause();
          later(1500, relay::resume);
        });
  }

  @ParameterizedTest
  @ValueSource(longs = {13, 14, 15})
  void networkResetsConnections(long seed) throws Exception {
    EdgeServer e = edge(0);
    TcpRelay relay = new TcpRelay(e.port());
    closing.add(relay);
    failover("network reset", seed, List.of(channel(relay.port())), POLICY, k -> relay.sever());
  }

  @Test
  void allEdgesDeadGivesUpAfterTheBoundedAttempts() throws Exception {
    EdgeServer a = edge(0);
    int port = a.port();
    a.kill();
    UeClient ue =
        new UeClient(
            List.of(channel(port)),
            new UeModel(TestRig.MODEL_ID, TestRig.SHA, engine),
            null,
            POLICY.withMaxAttempts(3));
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () -> ue.generator().generate(GenerateRequest.greedy(prompt(1), 4), 2, t -> {}));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    assertTrue(
        e.getStatus().getDescription().contains("gave up after 3 reconnect attempts"),
        e.getStatus().getDescription());
  }

  @Test
  void aRefusalIsNotRetried() throws Exception {
    EdgeServer a = edge(0);
    UeClient ue =
        new UeClient(
            List.of(channel(a.port())),
            new UeModel(TestRig.MODEL_ID, "other-sha", engine),
            null,
            POLICY);
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () -> ue.generator().generate(GenerateRequest.greedy(prompt(1), 4), 2, t -> {}));
    assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
    assertFalse(
        e.getStatus().getDescription().contains("reconnect"), e.getStatus().getDescription());
  }
}
