package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.core.security.AuthInterceptor;
import io.splitinfer.core.security.Authz;
import io.splitinfer.core.security.BearerToken;
import io.splitinfer.core.security.TlsCredentials;
import io.splitinfer.core.security.TlsOptions;
import io.splitinfer.core.security.TokenTable;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.Pilot;
import io.splitinfer.proto.v1.UeMessage;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.LocalGenerator;
import io.splitinfer.ue.UeClient;
import io.splitinfer.ue.UeModel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A hostile client against an edge under TLS with bearer-token identities (issue 13): forged {@code
 * ue_id}s, anonymous and plaintext callers, slot holding with pilots, and streams that never send
 * {@code open}. Each abuse runs in a bounded loop on loopback, and a healthy UE (another identity)
 * is served afterwards with exactly the tokens of a local run.
 */
class EdgeAbuseTest {
  static final String MALLORY = "mallory-token-0123456789";
  static final String HEALTHY = "healthy-token-0123456789";
  static final int[] PROMPT = {5, 6, 7, 8};

  @TempDir static Path dir;
  static InferenceEngine engine;
  static Path pki;
  static Path tokens;

  private final List<ManagedChannel> channels = new ArrayList<>();
  private EdgeServer server;
  private EdgeMetrics metrics;

  @BeforeAll
  static void setUp() throws Exception {
    engine = TestRig.tinyEngine(dir.resolve("model"), 4, 11);
    pki = gen(dir.resolve("pki"));
    tokens = dir.resolve("tokens");
    Files.writeString(tokens, MALLORY + " ue mallory\n" + HEALTHY + " ue ue-ok\n");
  }

  @AfterAll
  static void tearDown() {
    engine.close();
  }

  static Path gen(Path out) throws IOException, InterruptedException {
    Path script = Path.of("..", "scripts", "gen-certs.sh").toAbsolutePath().normalize();
    assumeTrue(Files.isRegularFile(script), "no " + script);
    Process p = new ProcessBuilder("bash", script.toString(), out.toString()).start();
    String log = new String(p.getInputStream().readAllBytes());
    assumeTrue(p.waitFor(60, TimeUnit.SECONDS), "gen-certs.sh hung");
    assumeTrue(p.exitValue() == 0 || !log.contains("openssl not found"), "openssl missing");
    assertEquals(0, p.exitValue(), log);
    return out;
  }

  @AfterEach
  void stop() throws InterruptedException {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.stop();
    }
  }

  private void start(EdgeConfig config, ClientLimits limits) throws IOException {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    metrics = new EdgeMetrics(registry);
    SplitInferenceService service =
        new SplitInferenceService(
            new EdgeModel(TestRig.MODEL_ID, TestRig.SHA, engine, id -> "<" + id + ">"),
            config,
            limits,
            new Authz(true, registry),
            metrics);
    server =
        new EdgeServer(service, metrics)
            .security(
                TlsCredentials.server(
                    TlsOptions.tls(
                        pki.resolve("edge.pem"),
                        pki.resolve("edge.key"),
                        pki.resolve("ca.pem"),
                        false),
                    "127.0.0.1"),
                new AuthInterceptor(TokenTable.load(tokens), registry))
            .start(new InetSocketAddress("127.0.0.1", 0));
  }

  /** A TLS channel with {@code token} (null: anonymous). */
  private ManagedChannel tls(String token) {
    ManagedChannel c =
        Grpc.newChannelBuilder(
                "localhost:" + server.port(),
                TlsCredentials.client(
                    TlsOptions.tls(null, null, pki.resolve("ca.pem"), false),
                    "localhost",
                    token == null ? null : new BearerToken(token)))
            .maxInboundMessageSize(64 << 20)
            .build();
    channels.add(c);
    return c;
  }

  /** The healthy UE generates 8 tokens exactly as a local run does. */
  private void assertHealthyServed() {
    int[] got =
        new UeClient(tls(HEALTHY), new UeModel(TestRig.MODEL_ID, TestRig.SHA, engine))
            .generator()
            .generate(GenerateRequest.greedy(PROMPT, 8).withUeId("ue-ok"), 2, t -> {})
            .tokenIds();
    assertArrayEquals(new LocalGenerator(engine).greedy(PROMPT, 8, 512).tokens(), got);
  }

  private static UeMessage open(String sessionId, String ueId) {
    return ValidationTest.msg(ValidationTest.open(sessionId, 2).setUeId(ueId));
  }

  private static UeMessage pilot(String sessionId, long seq) {
    return UeMessage.newBuilder()
        .setPilot(
            Pilot.newBuilder()
                .setSessionId(sessionId)
                .setSeed(seq + 1)
                .setSequence(seq)
                .setSamples(TensorCodec.encode(new float[16], DType.DTYPE_F32, 16)))
        .build();
  }

  @Test
  void forgedUeIdAnonymousAndPlaintextCallersAreRefused() throws Exception {
    start(EdgeConfig.defaults(), ClientLimits.defaults());
    Status forged = new RawSession(tls(MALLORY)).send(open("s-forged", "ue-ok")).awaitStatus();
    assertEquals(Status.Code.PERMISSION_DENIED, forged.getCode(), forged.toString());
    Status anonymous = new RawSession(tls(null)).send(open("s-anon", "ue-ok")).awaitStatus();
    assertEquals(Status.Code.UNAUTHENTICATED, anonymous.getCode(), anonymous.toString());
    ManagedChannel plain =
        Grpc.newChannelBuilder("localhost:" + server.port(), InsecureChannelCredentials.create())
            .build();
    channels.add(plain);
    Status plaintext = new RawSession(plain).send(open("s-plain", "ue-ok")).awaitStatus();
    assertEquals(Status.Code.UNAVAILABLE, plaintext.getCode(), plaintext.toString());
    assertEquals(0, server.service().liveSessions());
    assertTrue(metrics.rejectedCount("other_ue") >= 1);
    assertTrue(metrics.rejectedCount("unauthenticated") >= 1);
    assertHealthyServed();
  }

  @Test
  void slotHoldingIsBoundedPerClientAndPilotsDoNotKeepSessionsAlive() throws Exception {
    start(
        EdgeConfig.defaults().withMaxSessions(6).withIdleTtl(Duration.ofMillis(600)),
        new ClientLimits(3, 32, Duration.ofSeconds(10)));
    List<RawSession> held = new ArrayList<>();
    ManagedChannel mallory = tls(MALLORY);
    int refused = 0;
    for (int i = 0; i < 5; i++) {
      RawSession s = new RawSession(mallory).send(open("hold-" + i, "mallory"));
      ValidationTest.waitFor(() -> s.status.isDone() || !s.received.isEmpty());
      if (s.received.isEmpty()) {
        Status st = s.awaitStatus();
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, st.getCode(), st.toString());
        refused++;
      } else {
        held.add(s);
      }
    }
    assertEquals(3, held.size(), "the client's quota");
    assertEquals(2, refused);
    assertTrue(metrics.rejectedCount("client_sessions") >= 2);
    // keep them "alive" with pilots only, for 2.5 idle TTLs (bounded loop)
    for (int round = 0; round < 15; round++) {
      for (int i = 0; i < held.size(); i++) {
        if (!held.get(i).status.isDone()) {
          held.get(i).send(pilot("hold-" + i, round));
        }
      }
      Thread.sleep(100);
    }
    for (RawSession s : held) {
      assertEquals(Status.Code.DEADLINE_EXCEEDED, s.awaitStatus().getCode());
    }
    assertEquals(0, server.service().liveSessions());
    assertHealthyServed();
  }

  @Test
  void streamsWithoutOpenAreCappedAndReaped() throws Exception {
    start(EdgeConfig.defaults(), new ClientLimits(16, 20, Duration.ofMillis(400)));
    ManagedChannel mallory = tls(MALLORY);
    List<RawSession> streams = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      streams.add(new RawSession(mallory)); // headers only, never `open`
    }
    int refused = 0;
    int reaped = 0;
    for (RawSession s : streams) {
      Status st = s.awaitStatus();
      if (st.getCode() == Status.Code.RESOURCE_EXHAUSTED) {
        refused++;
      } else {
        assertEquals(Status.Code.DEADLINE_EXCEEDED, st.getCode(), st.toString());
        reaped++;
      }
    }
    assertEquals(30, refused, "over the stream quota");
    assertEquals(20, reaped, "reaped at the open deadline");
    assertEquals(20, metrics.rejectedCount("open_deadline"));
    ValidationTest.waitFor(() -> server.service().liveStreams() == 0);
    assertHealthyServed();
    ValidationTest.waitFor(() -> server.service().liveStreams() == 0);
  }
}
