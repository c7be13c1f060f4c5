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
import io.splitinfer.proto.v1.DecisionReason;
import io.splitinfer.proto.v1.GetSplitRequest;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code controller cli floor set|show} against an in-process controller. */
class OperatorCliFloorTest {
  String name;
  ControllerServer server;
  ManagedChannel channel;
  SplitControllerGrpc.SplitControllerBlockingStub stub;

  @BeforeEach
  void start() throws Exception {
    name = InProcessServerBuilder.generateName();
    PolicyFactory factory = new PolicyFactory("", "", 2, 1);
    SplitControllerService service =
        new SplitControllerService(
            factory.create("fixed", ""),
            factory,
            Hysteresis.none(),
            2,
            Clock.systemUTC(),
            new SimpleMeterRegistry());
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
            .setNumLayers(12)
            .setMinSplit(1)
            .setMaxSplit(11)
            .build());
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.close();
  }

  /**
   * Runs {@code controller cli floor ARGS... --target in-process:NAME}; returns exit code and
   * stdout.
   */
  Object[] cli(String... args) {
    String[] full = new String[args.length + 4];
    full[0] = "cli";
    full[1] = "floor";
    System.arraycopy(args, 0, full, 2, args.length);
    full[args.length + 2] = "--target";
    full[args.length + 3] = "in-process:" + name;
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      int rc = ControllerMain.commandLine().execute(full);
      return new Object[] {rc, buf.toString(StandardCharsets.UTF_8)};
    } finally {
      System.setOut(old);
    }
  }

  SplitDecision decision() {
    return stub.getSplit(GetSplitRequest.newBuilder().setUeId("ue-1").build());
  }

  @Test
  void setAndShowTheFloor() {
    assertEquals(2, decision().getSplit());
    Object[] r = cli("set", "--ue", "ue-1", "--min-split", "7");
    assertEquals(0, r[0]);
    assertTrue(((String) r[1]).contains("min_split: 7"), (String) r[1]);
    SplitDecision d = decision();
    assertEquals(7, d.getSplit());
    assertEquals(DecisionReason.DECISION_REASON_PRIVACY_FLOOR, d.getReason());
    assertEquals(7, d.getPrivacyFloor());

    r = cli("show", "--ue", "ue-1");
    assertEquals(0, r[0]);
    assertTrue(((String) r[1]).contains("operator_min_split: 7"), (String) r[1]);
    r = cli("show");
    assertEquals(0, r[0]);
    assertTrue(!((String) r[1]).contains("min_split: 7"), "the default is untouched: " + r[1]);

    // a rate every split meets maps to no floor (the shipped table is measured recovery <= 1)
    r = cli("set", "--max-recovery", "1.0");
    assertEquals(0, r[0]);
    assertTrue(((String) r[1]).contains("max recovery 1.0 -> p >= 0"), (String) r[1]);

    assertEquals(2, cli("set", "--ue", "ue-1", "--min-split", "40")[0]); // INVALID_ARGUMENT
    assertEquals(2, cli("set", "--ue", "ue-1", "--max-recovery", "2")[0]); // INVALID_ARGUMENT
    assertEquals(2, cli("show", "--ue", "nobody")[0]); // NOT_FOUND
    assertEquals(7, decision().getSplit());
  }
}
