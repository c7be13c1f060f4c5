package io.splitinfer.channelsim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.CallCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.core.security.BearerToken;
import io.splitinfer.core.security.ForwardedIdentity;
import io.splitinfer.core.security.TlsCredentials;
import io.splitinfer.core.security.TlsOptions;
import io.splitinfer.core.security.TokenTable;
import io.splitinfer.proto.v1.ChannelControlGrpc;
import io.splitinfer.proto.v1.ChannelParameters;
import io.splitinfer.proto.v1.GetParametersRequest;
import io.splitinfer.proto.v1.LoadScenarioRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * channel-sim under TLS: a UE → channel-sim → edge chain with mutual TLS on both hops (certificates
 * from scripts/gen-certs.sh), the control API restricted to operators, and bearer tokens.
 */
class SecurityTest {
  @TempDir static Path tmp;
  static Path pki;
  static Path other;

  private final List<ManagedChannel> channels = new ArrayList<>();

  @BeforeAll
  static void certs() throws Exception {
    pki = gen(tmp.resolve("pki"));
    other = gen(tmp.resolve("other"));
  }

  static Path gen(Path dir) throws IOException, InterruptedException {
    Path script = Path.of("..", "scripts", "gen-certs.sh").toAbsolutePath().normalize();
    assumeTrue(Files.isRegularFile(script), "no " + script);
    Process p;
    try {
      p =
          new ProcessBuilder("bash", script.toString(), dir.toString())
              .redirectErrorStream(true)
              .start();
    } catch (IOException e) {
      assumeTrue(false, "cannot run bash: " + e);
      return null;
    }
    String out = new String(p.getInputStream().readAllBytes());
    p.waitFor(60, TimeUnit.SECONDS);
    assumeTrue(!out.contains("openssl not found"), "openssl not installed");
    if (p.exitValue() != 0) {
      throw new IOException(out);
    }
    return dir;
  }

  static TlsOptions tls(Path dir, String svc, boolean mtls) {
    return svc == null
        ? TlsOptions.tls(null, null, dir.resolve("ca.pem"), false)
        : TlsOptions.tls(
            dir.resolve(svc + ".pem"), dir.resolve(svc + ".key"), dir.resolve("ca.pem"), mtls);
  }

  @AfterEach
  void closeChannels() throws InterruptedException {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private ManagedChannel channel(int port, TlsOptions o, CallCredentials token) {
    ManagedChannel c =
        Grpc.newChannelBuilder("localhost:" + port, TlsCredentials.client(o, "localhost", token))
            .build();
    channels.add(c);
    return c;
  }

  /** channel-sim with mTLS on its port, mTLS to an edge that requires client certificates. */
  private ProxyHarness mtlsChain() throws Exception {
    FakeEdge edge =
        new FakeEdge().start(TlsCredentials.server(tls(pki, "edge", true), "127.0.0.1"));
    return new ProxyHarness(
        ChannelParams.builder().sigma(0.01).seed(2).build(),
        ChannelSimServer.DEFAULT_MAX_MESSAGE_BYTES,
        edge,
        new ChannelSimServer.Security(
            tls(pki, "channel-sim", true), tls(pki, "channel-sim", false), TokenTable.EMPTY, true));
  }

  private static Status.Code code(Runnable r) {
    return assertThrows(StatusRuntimeException.class, r::run).getStatus().getCode();
  }

  @Test
  void plaintextAndForeignClientsAreRefused() throws Exception {
    try (ProxyHarness h = mtlsChain()) {
      int port = h.sim.port();
      Function<ManagedChannel, Runnable> get =
          ch ->
              () ->
                  ChannelControlGrpc.newBlockingStub(ch)
                      .withDeadlineAfter(10, TimeUnit.SECONDS)
                      .getParameters(GetParametersRequest.getDefaultInstance());
      assertEquals(
          Status.Code.UNAVAILABLE, code(get.apply(channel(port, TlsOptions.plaintext(), null))));
      TlsOptions foreign =
          TlsOptions.tls(
              other.resolve("operator.pem"),
              other.resolve("operator.key"),
              pki.resolve("ca.pem"),
              false);
      assertEquals(Status.Code.UNAVAILABLE, code(get.apply(channel(port, foreign, null))));
      assertEquals(
          Status.Code.UNAVAILABLE, code(get.apply(channel(port, tls(pki, null, false), null))));
    }
  }

  @Test
  void onlyAnOperatorChangesTheChannelAndUeTrafficIsForwardedAsTheUe() throws Exception {
    try (ProxyHarness h = mtlsChain()) {
      int port = h.sim.port();
      ManagedChannel ue = channel(port, tls(pki, "ue", false), null);
      var ueStub = ChannelControlGrpc.newBlockingStub(ue);
      ChannelParameters before = ueStub.getParameters(GetParametersRequest.getDefaultInstance());
      ChannelParameters worse = before.toBuilder().setSigma(0.9).build();
      assertEquals(Status.Code.PERMISSION_DENIED, code(() -> ueStub.setParameters(worse)));
      assertEquals(
          Status.Code.PERMISSION_DENIED,
          code(
              () ->
                  ueStub.loadScenario(
                      LoadScenarioRequest.newBuilder().setBuiltin("case-H").build())));
      assertEquals(before, ueStub.getParameters(GetParametersRequest.getDefaultInstance()));
      assertEquals(
          2.0, h.registry.find("auth_refusals").tag("code", "PERMISSION_DENIED").counter().count());

      var op = ChannelControlGrpc.newBlockingStub(channel(port, tls(pki, "operator", false), null));
      assertEquals(0.9, op.setParameters(worse).getSigma());

      // the data plane: UE -> channel-sim -> edge, TLS on both hops, the edge requiring a client
      // certificate; the edge learns the UE's identity from channel-sim's header
      ProxyHarness.Session s = new ProxyHarness.Session(ue);
      for (byte[] f : ProxyPassThroughTest.frames(5, 8)) {
        s.call.sendMessage(f);
        s.next();
      }
      assertEquals(Status.Code.OK, s.finish().getCode());
      assertEquals("ue-1;ue", h.edge.lastSessionHeaders.get().get(ForwardedIdentity.HEADER));
    }
  }

  @Test
  void bearerTokensAndAnonymousHealth() throws Exception {
    Path tokens = tmp.resolve("tokens");
    Files.writeString(tokens, "operator-token-0123456789 operator alice\n");
    FakeEdge edge = new FakeEdge().start();
    try (ProxyHarness h =
        new ProxyHarness(
            ChannelParams.IDEAL,
            ChannelSimServer.DEFAULT_MAX_MESSAGE_BYTES,
            edge,
            new ChannelSimServer.Security(
                tls(pki, "channel-sim", false),
                TlsOptions.plaintext(),
                TokenTable.load(tokens),
                true))) {
      int port = h.sim.port();
      ManagedChannel anon = channel(port, tls(pki, null, false), null);
      assertEquals(
          HealthCheckResponse.ServingStatus.SERVING,
          HealthGrpc.newBlockingStub(anon)
              .check(HealthCheckRequest.getDefaultInstance())
              .getStatus());
      var anonStub = ChannelControlGrpc.newBlockingStub(anon);
      assertEquals(
          Status.Code.UNAUTHENTICATED,
          code(() -> anonStub.getParameters(GetParametersRequest.getDefaultInstance())));
      var wrong =
          ChannelControlGrpc.newBlockingStub(
              channel(port, tls(pki, null, false), new BearerToken("wrong-token-0123456789")));
      assertEquals(
          Status.Code.UNAUTHENTICATED,
          code(() -> wrong.getParameters(GetParametersRequest.getDefaultInstance())));
      var alice =
          ChannelControlGrpc.newBlockingStub(
              channel(port, tls(pki, null, false), new BearerToken("operator-token-0123456789")));
      assertEquals(
          0.25,
          alice
              .setParameters(
                  alice.getParameters(GetParametersRequest.getDefaultInstance()).toBuilder()
                      .setSigma(0.25)
                      .build())
              .getSigma());
    }
  }

  @Test
  void plaintextIsRefusedOffLoopback() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                new ChannelSimServer(
                        new ChannelSimServer.Config(
                            "0.0.0.0",
                            0,
                            "localhost:1",
                            ChannelParams.IDEAL,
                            null,
                            0,
                            1 << 20,
                            new ChannelSimServer.Security(
                                TlsOptions.plaintext(),
                                TlsOptions.plaintext(),
                                TokenTable.EMPTY,
                                false)),
                        new io.micrometer.core.instrument.simple.SimpleMeterRegistry())
                    .start());
    org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("loopback"));
  }
}
