package io.splitinfer.controller.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.controller.service.ControllerServer;
import io.splitinfer.controller.service.Hysteresis;
import io.splitinfer.controller.service.PolicyFactory;
import io.splitinfer.controller.service.SplitControllerService;
import io.splitinfer.edge.ControllerLink;
import io.splitinfer.proto.v1.ChannelReport;
import io.splitinfer.proto.v1.ChannelReportSource;
import io.splitinfer.proto.v1.GetSplitRequest;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.OverrideRequest;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.ue.ControllerSplitSource;
import io.splitinfer.ue.SplitSource.Choice;
import java.io.File;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The controller dies and comes back (stop + start on the same port and the same H2 file), or is
 * down when a UE starts: the edge's {@link ControllerLink} and the UE's {@link
 * ControllerSplitSource} re-register by themselves over loopback TCP, and the UE follows the
 * decisions of the new controller. Every wait is bounded.
 */
class ControllerRestartTest {
  static final ModelInfo MODEL =
      ModelInfo.newBuilder()
          .setModelId("m")
          .setNumLayers(12)
          .setMinSplit(1)
          .setMaxSplit(11)
          .build();
  static final Duration WAIT = Duration.ofSeconds(20);

  @TempDir Path dir;
  int port;
  ManagedChannel ueChannel;
  ManagedChannel edgeChannel;
  Controller controller;

  @BeforeEach
  void setUp() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    ueChannel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    edgeChannel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
  }

  @AfterEach
  void tearDown() throws Exception {
    if (controller != null) {
      controller.close();
    }
    ueChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    edgeChannel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }

  /** A controller process: the service on a loopback port, its state in the H2 file. */
  final class Controller implements AutoCloseable {
    final ControllerStore store;
    final ControllerServer server;
    final ManagedChannel channel;

    Controller() throws Exception {
      store = ControllerStore.open(dir.resolve("controller-records").toString());
      ControllerStore.Snapshot snap = store.load();
      PolicyFactory factory = new PolicyFactory("", "", 3, 1);
      SplitControllerService service =
          new SplitControllerService(
              ControllerStoreContract.SIGMA_POLICY,
              factory,
              new Hysteresis(1, Duration.ZERO, 0.0),
              -1,
              Clock.systemUTC(),
              new SimpleMeterRegistry());
      service.restore(snap, store);
      server =
          new ControllerServer(
                  service,
                  NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", port)),
                  Duration.ZERO,
                  null)
              .start();
      channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    }

    /** An operator declares σ for {@code ue}: the test policy moves the split to round(10σ). */
    void declare(String ue, double sigma) {
      SplitControllerGrpc.newBlockingStub(channel)
          .withDeadlineAfter(5, TimeUnit.SECONDS)
          .reportChannel(
              ChannelReport.newBuilder()
                  .setUeId(ue)
                  .setSource(ChannelReportSource.CHANNEL_REPORT_SOURCE_UE)
                  .setSigma(sigma)
                  .setLossRate(0.05)
                  .build());
    }

    @Override
    public void close() throws Exception {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      server.close();
      store.close();
    }
  }

  static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long end = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > end) {
        throw new AssertionError("not within " + WAIT + ": " + what);
      }
      Thread.sleep(20);
    }
  }

  @Test
  void ueStartsOnItsFallbackWhileTheControllerIsDownThenFollowsIt() throws Exception {
    try (ControllerSplitSource ue =
            ControllerSplitSource.start(ueChannel, "ue-1", "edge-a", MODEL, 4);
        ControllerLink edge =
            new ControllerLink(edgeChannel).start("edge-a", "127.0.0.1:1", MODEL, "test")) {
      assertEquals(new Choice(4, 0), ue.current(0), "the fallback split while no controller");
      Thread.sleep(600); // several failed attempts: still the fallback, still running
      assertEquals(new Choice(4, 0), ue.current(1));
      assertEquals(0, ue.registrations());

      controller = new Controller();
      await(
          "UE registered and on the controller's initial split", () -> ue.current(2).split() == 6);
      assertTrue(ue.current(2).epoch() > 0);
      await("edge registered", () -> edge.registrations() == 1);
      controller.declare("ue-1", 0.9);
      await("UE follows the controller's decision", () -> ue.current(3).split() == 9);
    }
  }

  @Test
  void aFallbackSplitOutsideTheEdgesRangeIsRefused() {
    IllegalArgumentException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalArgumentException.class,
            () -> ControllerSplitSource.start(ueChannel, "ue-1", "edge-a", MODEL, 12));
    assertEquals("--fallback-split 12 outside the edge's split range 1..11", e.getMessage());
  }

  @Test
  void afterAControllerRestartTheUeAndEdgeReRegisterAndTheUeFollowsNewDecisions() throws Exception {
    controller = new Controller();
    try (ControllerSplitSource ue =
            ControllerSplitSource.start(ueChannel, "ue-1", "edge-a", MODEL, 4);
        ControllerLink edge =
            new ControllerLink(edgeChannel).start("edge-a", "127.0.0.1:1", MODEL, "test")) {
      assertEquals(6, ue.current(0).split(), "a reachable controller decides the first step");
      await("edge registered", () -> edge.registrations() == 1);
      controller.declare("ue-1", 0.9);
      await("UE on 9", () -> ue.current(1).split() == 9);
      long epochBefore = ue.current(1).epoch();

      controller.close(); // the controller goes away mid-run
      controller = null;
      Thread.sleep(500);
      assertEquals(new Choice(9, epochBefore), ue.current(2), "the UE keeps its last split");

      controller = new Controller(); // same port, same database
      await("UE re-registered", () -> ue.registrations() >= 2);
      await("edge re-registered", () -> edge.registrations() >= 2);
      assertEquals(
          9,
          controller.store.load().ues().get(0).decision().getSplit(),
          "the restarted controller kept the UE's decision");
      controller.declare("ue-1", 0.3);
      await("UE follows the restarted controller", () -> ue.current(3).split() == 3);
      assertTrue(ue.current(3).epoch() > epochBefore);
    }
  }

  /** {@code controller serve} as its own JVM, on the test's port and an H2 file in the temp dir. */
  Process serveProcess() throws Exception {
    List<String> cmd =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx256m",
            "-cp",
            System.getProperty("java.class.path"),
            "io.splitinfer.controller.ControllerMain",
            "serve",
            "--plaintext",
            "--listen",
            "127.0.0.1:" + port,
            "--db",
            dir.resolve("process-records").toString(),
            "--metrics-port",
            "-1",
            "--policy",
            "fixed",
            "--fixed-split",
            "7",
            "--confirmations",
            "1",
            "--min-dwell-ms",
            "0",
            "--decision-interval",
            "0");
    File log = dir.resolve("controller-" + System.nanoTime() + ".log").toFile();
    return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log).start();
  }

  /**
   * The controller process is killed with SIGKILL mid-run (no shutdown hook, no graceful end of the
   * watch streams: the clients see UNAVAILABLE) and a new process starts on the same port and
   * database: it reloads the UE's decision, the UE and the edge re-register, and the UE follows the
   * new process' decision with a larger epoch.
   */
  @Test
  void aKilledControllerProcessComesBackWithItsStateAndItsClients() throws Exception {
    Process first = serveProcess();
    Process second = null;
    try (ControllerSplitSource ue =
            ControllerSplitSource.start(ueChannel, "ue-1", "edge-a", MODEL, 4);
        ControllerLink edge =
            new ControllerLink(edgeChannel).start("edge-a", "127.0.0.1:1", MODEL, "test")) {
      await("UE registered with the process", () -> ue.current(0).split() == 6);
      await("edge registered", () -> edge.registrations() == 1);
      ManagedChannel ops = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
      try {
        var stub = SplitControllerGrpc.newBlockingStub(ops).withDeadlineAfter(10, TimeUnit.SECONDS);
        stub.reportChannel(
            ChannelReport.newBuilder()
                .setUeId("ue-1")
                .setSource(ChannelReportSource.CHANNEL_REPORT_SOURCE_UE)
                .setSigma(1)
                .setLossRate(0.05)
                .build());
        await("UE follows the fixed policy's 7", () -> ue.current(1).split() == 7);
        long epochBefore = ue.current(1).epoch();

        first.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // kill -9
        Thread.sleep(300);
        assertEquals(new Choice(7, epochBefore), ue.current(2), "the UE keeps its last split");

        second = serveProcess();
        await("UE re-registered", () -> ue.registrations() >= 2);
        await("edge re-registered", () -> edge.registrations() >= 2);
        var again =
            SplitControllerGrpc.newBlockingStub(ops).withDeadlineAfter(10, TimeUnit.SECONDS);
        SplitDecision kept = again.getSplit(GetSplitRequest.newBuilder().setUeId("ue-1").build());
        assertEquals(7, kept.getSplit(), "the restarted process reloaded the decision");
        assertEquals(epochBefore, kept.getEpoch());
        SplitDecision pinned =
            again.override(
                OverrideRequest.newBuilder().setUeId("ue-1").setPin(true).setSplit(2).build());
        assertTrue(pinned.getEpoch() > epochBefore);
        await("UE follows the new process", () -> ue.current(3).split() == 2);
      } finally {
        ops.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } finally {
      first.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      if (second != null) {
        second.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
