package io.splitinfer.controller.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.controller.ControllerMain;
import io.splitinfer.controller.service.ControllerServer;
import io.splitinfer.controller.service.Hysteresis;
import io.splitinfer.controller.service.PolicyFactory;
import io.splitinfer.controller.service.SplitControllerService;
import io.splitinfer.controller.service.SplitPolicy;
import io.splitinfer.proto.v1.ChannelReportSource;
import io.splitinfer.proto.v1.GetSplitRequest;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code controller cli report} against an in-process controller. */
class OperatorCliReportTest {
  /** Proposes split = round(10·σ), so the reported σ is visible in the decision. */
  static final SplitPolicy SIGMA_POLICY =
      new SplitPolicy() {
        @Override
        public int propose(double sigma, double sigmaH, int current, int min, int max) {
          return (int) Math.round(10 * sigma);
        }

        @Override
        public String name() {
          return "sigma-test";
        }
      };

  String name;
  SimpleMeterRegistry metrics = new SimpleMeterRegistry();
  ControllerServer server;
  ManagedChannel channel;
  SplitControllerGrpc.SplitControllerBlockingStub stub;

  @BeforeEach
  void start() throws Exception {
    name = InProcessServerBuilder.generateName();
    SplitControllerService service =
        new SplitControllerService(
            SIGMA_POLICY,
            new PolicyFactory("", "", 3, 1),
            Hysteresis.none(),
            4,
            Clock.systemUTC(),
            metrics);
    server =
        new ControllerServer(
                service, InProcessServerBuilder.forName(name).directExecutor(), Duration.ZERO, null)
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    stub = SplitControllerGrpc.newBlockingStub(channel);
    stub.registerUe(
        UeRegistration.newBuilder()
            .setUeId("ue-1")
            .setEdgeId("edge-1")
            .setNumLayers(10)
            .setMinSplit(1)
            .setMaxSplit(9)
            .build());
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.close();
  }

  int cli(String... args) {
    String[] full = new String[args.length + 4];
    full[0] = "cli";
    full[1] = "report";
    full[2] = "--target";
    full[3] = OperatorCli.Base.IN_PROCESS + name;
    System.arraycopy(args, 0, full, 4, args.length);
    return ControllerMain.commandLine().execute(full);
  }

  double reports(ChannelReportSource source) {
    var c = metrics.find("controller_channel_reports_total").tag("source", source.name()).counter();
    return c == null ? 0 : c.count();
  }

  SplitDecision decision() {
    return stub.getSplit(GetSplitRequest.newBuilder().setUeId("ue-1").build());
  }

  @Test
  void reportReachesThePolicyWithTheChosenSource() {
    assertEquals(0, cli("--ue", "ue-1", "--sigma", "0.7", "--loss", "0.1", "--source", "edge"));
    SplitDecision d = decision();
    assertEquals(7, d.getSplit());
    assertEquals(0.7, d.getSigma(), 1e-12);
    assertTrue(d.getSigmaH() > 0, "σ_h derived from the loss: " + d);
    assertEquals(1.0, reports(ChannelReportSource.CHANNEL_REPORT_SOURCE_EDGE_PILOT));

    assertEquals(0, cli("--ue", "ue-1", "--sigma", "0.3", "--loss", "0"));
    assertEquals(3, decision().getSplit());
    assertEquals(1.0, reports(ChannelReportSource.CHANNEL_REPORT_SOURCE_UE)); // the default

    // channel-sim's ground truth is an oracle: counted, but never mixed into the estimate
    assertEquals(0, cli("--ue", "ue-1", "--sigma", "0.9", "--source", "channel-sim"));
    assertEquals(3, decision().getSplit());
    assertEquals(1.0, reports(ChannelReportSource.CHANNEL_REPORT_SOURCE_CHANNEL_SIM));

    // empty id: declared for every UE
    assertEquals(0, cli("--ue=", "--sigma", "0.5"));
    assertEquals(5, decision().getSplit());
  }

  @Test
  void errorsAreExitCodes() {
    assertEquals(2, cli("--ue", "nobody", "--sigma", "1")); // NOT_FOUND
    assertEquals(2, cli("--ue", "ue-1", "--sigma", "1", "--loss", "1.5")); // INVALID_ARGUMENT
    assertEquals(2, cli("--ue", "ue-1", "--sigma", "1", "--source", "satellite"));
    assertEquals(2, cli("--ue", "ue-1")); // --sigma is required (picocli usage error)
    assertEquals(4, decision().getSplit()); // untouched: the initial split
  }
}
