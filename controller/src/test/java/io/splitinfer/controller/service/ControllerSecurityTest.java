package io.splitinfer.controller.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.core.security.AuthInterceptor;
import io.splitinfer.core.security.Authz;
import io.splitinfer.core.security.TlsCredentials;
import io.splitinfer.core.security.TlsOptions;
import io.splitinfer.core.security.TokenTable;
import io.splitinfer.proto.v1.ChannelReport;
import io.splitinfer.proto.v1.ChannelReportSource;
import io.splitinfer.proto.v1.EdgeRegistration;
import io.splitinfer.proto.v1.GetPolicyRequest;
import io.splitinfer.proto.v1.GetSplitRequest;
import io.splitinfer.proto.v1.OverrideRequest;
import io.splitinfer.proto.v1.SetPolicyRequest;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import io.splitinfer.proto.v1.WatchSplitRequest;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller under mutual TLS (certificates from scripts/gen-certs.sh; the UE's is CN=ue-1):
 * plaintext and foreign certificates are refused at the handshake, a UE cannot read or change
 * another UE's split, only an operator pins or sets the policy, and every refusal is counted and
 * changes nothing (the state is read back afterwards).
 */
class ControllerSecurityTest {
  @TempDir static Path tmp;
  static Path pki;
  static Path foreign;

  private final List<ManagedChannel> channels = new ArrayList<>();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private SplitControllerService service;
  private ControllerServer server;

  @BeforeAll
  static void certs() throws Exception {
    pki = gen(tmp.resolve("pki"));
    foreign = gen(tmp.resolve("foreign"));
  }

  static Path gen(Path out) throws IOException, InterruptedException {
    Path script = Path.of("..", "scripts", "gen-certs.sh").toAbsolutePath().normalize();
    assumeTrue(Files.isRegularFile(script), "no " + script);
    Process p =
        new ProcessBuilder("bash", script.toString(), out.toString())
            .redirectErrorStream(true)
            .start();
    String log = new String(p.getInputStream().readAllBytes());
    assumeTrue(p.waitFor(60, TimeUnit.SECONDS), "gen-certs.sh hung");
    assumeTrue(!log.contains("openssl not found"), "openssl missing");
    assertEquals(0, p.exitValue(), log);
    return out;
  }

  @BeforeEach
  void start() throws IOException {
    service =
        new SplitControllerService(
                SplitControllerServiceTest.SIGMA_POLICY,
                new PolicyFactory("", "", 3, 1),
                new Hysteresis(2, Duration.ofSeconds(5), 0.0),
                4,
                java.time.Clock.systemUTC(),
                registry)
            .secure(new Authz(true, registry), RegistrationLimits.defaults());
    server =
        new ControllerServer(
                service,
                NettyServerBuilder.forAddress(
                        new InetSocketAddress("127.0.0.1", 0),
                        TlsCredentials.server(
                            TlsOptions.tls(
                                pki.resolve("controller.pem"),
                                pki.resolve("controller.key"),
                                pki.resolve("ca.pem"),
                                true),
                            "127.0.0.1"))
                    .intercept(new AuthInterceptor(TokenTable.EMPTY, registry)),
                Duration.ZERO,
                null)
            .start();
  }

  @AfterEach
  void stop() throws InterruptedException {
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    server.close();
  }

  private SplitControllerGrpc.SplitControllerBlockingStub as(Path dir, String svc) {
    ManagedChannel c =
        Grpc.newChannelBuilder(
                "localhost:" + server.port(),
                svc == null
                    ? InsecureChannelCredentials.create()
                    : TlsCredentials.client(
                        TlsOptions.tls(
                            dir.resolve(svc + ".pem"),
                            dir.resolve(svc + ".key"),
                            pki.resolve("ca.pem"),
                            false),
                        "localhost",
                        null))
            .build();
    channels.add(c);
    return SplitControllerGrpc.newBlockingStub(c).withDeadlineAfter(10, TimeUnit.SECONDS);
  }

  private SplitControllerGrpc.SplitControllerBlockingStub as(String svc) {
    return as(pki, svc);
  }

  private static Status.Code code(Runnable r) {
    return assertThrows(StatusRuntimeException.class, r::run).getStatus().getCode();
  }

  private static UeRegistration reg(String ue, int min, int max) {
    return UeRegistration.newBuilder()
        .setUeId(ue)
        .setEdgeId("e")
        .setNumLayers(10)
        .setMinSplit(min)
        .setMaxSplit(max)
        .build();
  }

  private double refusals() {
    return registry.find("auth_refusals").counters().stream().mapToDouble(c -> c.count()).sum();
  }

  @Test
  void plaintextForeignAndMissingCertificatesAreRefused() {
    GetPolicyRequest q = GetPolicyRequest.getDefaultInstance();
    assertEquals(Status.Code.UNAVAILABLE, code(() -> as(null).getPolicy(q)));
    assertEquals(Status.Code.UNAVAILABLE, code(() -> as(foreign, "operator").getPolicy(q)));
    ManagedChannel noCert =
        Grpc.newChannelBuilder(
                "localhost:" + server.port(),
                TlsCredentials.client(
                    TlsOptions.tls(null, null, pki.resolve("ca.pem"), false), "localhost", null))
            .build();
    channels.add(noCert);
    assertEquals(
        Status.Code.UNAVAILABLE,
        code(() -> SplitControllerGrpc.newBlockingStub(noCert).getPolicy(q)));
    assertEquals(0, service.registeredUes());
    assertEquals("sigma-test", as("operator").getPolicy(q).getPolicy());
  }

  @Test
  void aUeCannotTouchAnotherUesSplit() {
    as("operator").registerUe(reg("ue-2", 1, 9));
    as("ue").registerUe(reg("ue-1", 1, 9)); // the UE's certificate is CN=ue-1
    SplitDecision before =
        as("operator").getSplit(GetSplitRequest.newBuilder().setUeId("ue-2").build());
    double refusedBefore = refusals();
    var ue1 = as("ue");
    assertEquals(
        Status.Code.PERMISSION_DENIED,
        code(() -> ue1.getSplit(GetSplitRequest.newBuilder().setUeId("ue-2").build())));
    assertEquals(Status.Code.PERMISSION_DENIED, code(() -> ue1.registerUe(reg("ue-2", 1, 1))));
    assertEquals(
        Status.Code.PERMISSION_DENIED,
        code(
            () ->
                ue1.override(
                    OverrideRequest.newBuilder()
                        .setUeId("ue-2")
                        .setPin(true)
                        .setSplit(1)
                        .build())));
    assertEquals(
        Status.Code.PERMISSION_DENIED,
        code(() -> ue1.watchSplit(WatchSplitRequest.newBuilder().setUeId("ue-2").build()).next()));
    assertEquals(
        Status.Code.PERMISSION_DENIED,
        code(() -> ue1.watchSplit(WatchSplitRequest.newBuilder().setEdgeId("e").build()).next()));
    for (ChannelReportSource src :
        List.of(
            ChannelReportSource.CHANNEL_REPORT_SOURCE_UE,
            ChannelReportSource.CHANNEL_REPORT_SOURCE_EDGE_PILOT,
            ChannelReportSource.CHANNEL_REPORT_SOURCE_CHANNEL_SIM)) {
      assertEquals(
          Status.Code.PERMISSION_DENIED,
          code(
              () ->
                  ue1.reportChannel(
                      ChannelReport.newBuilder()
                          .setUeId("ue-2")
                          .setSource(src)
                          .setSigma(0.9)
                          .build())),
          src.name());
    }
    assertEquals(
        Status.Code.PERMISSION_DENIED,
        code(() -> as("ue").registerEdge(EdgeRegistration.newBuilder().setEdgeId("x").build())));
    assertTrue(refusals() - refusedBefore >= 9, "refusals counted");
    // nothing changed
    SplitDecision after =
        as("operator").getSplit(GetSplitRequest.newBuilder().setUeId("ue-2").build());
    assertEquals(before, after);
    assertEquals(null, service.channelInForce("ue-2"));
    // what each role may do
    assertEquals(
        "ue-1", ue1.getSplit(GetSplitRequest.newBuilder().setUeId("ue-1").build()).getUeId());
    as("edge").registerEdge(EdgeRegistration.newBuilder().setEdgeId("e").build());
    as("edge")
        .reportChannel(
            ChannelReport.newBuilder()
                .setUeId("ue-2")
                .setSource(ChannelReportSource.CHANNEL_REPORT_SOURCE_EDGE_PILOT)
                .setSigma(0.2)
                .build());
  }

  @Test
  void onlyAnOperatorPinsAndSetsThePolicy() {
    as("ue").registerUe(reg("ue-1", 1, 9));
    SplitDecision before = as("ue").getSplit(GetSplitRequest.newBuilder().setUeId("ue-1").build());
    OverrideRequest pin =
        OverrideRequest.newBuilder().setUeId("ue-1").setPin(true).setSplit(2).build();
    SetPolicyRequest fixed = SetPolicyRequest.newBuilder().setPolicy("fixed").build();
    for (String who : List.of("ue", "edge", "channel-sim", "controller")) {
      assertEquals(Status.Code.PERMISSION_DENIED, code(() -> as(who).override(pin)), who);
      assertEquals(Status.Code.PERMISSION_DENIED, code(() -> as(who).setPolicy(fixed)), who);
    }
    assertEquals(before, as("ue").getSplit(GetSplitRequest.newBuilder().setUeId("ue-1").build()));
    assertEquals(
        "sigma-test", as("ue").getPolicy(GetPolicyRequest.getDefaultInstance()).getPolicy());
    assertEquals(2, as("operator").override(pin).getSplit());
    assertEquals("fixed", as("operator").setPolicy(fixed).getPolicy());
  }
}
