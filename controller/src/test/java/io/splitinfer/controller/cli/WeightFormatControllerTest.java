package io.splitinfer.controller.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.controller.ControllerMain;
import io.splitinfer.controller.service.ControllerServer;
import io.splitinfer.controller.service.Hysteresis;
import io.splitinfer.controller.service.PolicyFactory;
import io.splitinfer.controller.service.SplitControllerService;
import io.splitinfer.controller.service.SplitPolicy;
import io.splitinfer.proto.v1.ChannelReport;
import io.splitinfer.proto.v1.ChannelReportSource;
import io.splitinfer.proto.v1.GetSplitRequest;
import io.splitinfer.proto.v1.PolicyStatus;
import io.splitinfer.proto.v1.SetPolicyRequest;
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

/**
 * The controller knows each UE's weight format: it is registered, shown by {@code cli get}, and a
 * policy trained for another format is refused for that UE (its split holds; logged and counted).
 */
class WeightFormatControllerTest {
  /** A policy trained for int4 UEs that proposes split = round(10·σ). */
  static final SplitPolicy INT4_POLICY =
      new SplitPolicy() {
        @Override
        public int propose(double sigma, double sigmaH, int current, int min, int max) {
          return (int) Math.round(10 * sigma);
        }

        @Override
        public String name() {
          return "int4-test";
        }

        @Override
        public String weightFormat() {
          return "int4-g32-sym-a4";
        }
      };

  String name;
  ControllerServer server;
  ManagedChannel channel;
  SplitControllerGrpc.SplitControllerBlockingStub stub;
  SplitControllerService service;
  SimpleMeterRegistry metrics = new SimpleMeterRegistry();

  @BeforeEach
  void start() throws Exception {
    name = InProcessServerBuilder.generateName();
    service =
        new SplitControllerService(
            INT4_POLICY,
            new PolicyFactory("", "", 2, 1),
            Hysteresis.none(),
            -1,
            Clock.systemUTC(),
            metrics);
    server =
        new ControllerServer(
                service, InProcessServerBuilder.forName(name).directExecutor(), Duration.ZERO, null)
            .start();
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    stub = SplitControllerGrpc.newBlockingStub(channel);
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.close();
  }

  void register(String ue, String format) {
    stub.registerUe(
        UeRegistration.newBuilder()
            .setUeId(ue)
            .setEdgeId("edge-1")
            .setNumLayers(12)
            .setMinSplit(1)
            .setMaxSplit(11)
            .setWeightFormat(format)
            .build());
  }

  SplitDecision decision(String ue) {
    return stub.getSplit(GetSplitRequest.newBuilder().setUeId(ue).build());
  }

  double refusals(String policyFormat, String ueFormat) {
    var c =
        metrics
            .find("controller_policy_format_refusals_total")
            .tag("policy_format", policyFormat)
            .tag("ue_format", ueFormat)
            .counter();
    return c == null ? 0 : c.count();
  }

  String cli(String... args) {
    String[] full = new String[args.length + 3];
    full[0] = "cli";
    System.arraycopy(args, 0, full, 1, args.length);
    full[args.length + 1] = "--target";
    full[args.length + 2] = "in-process:" + name;
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    try {
      assertEquals(0, ControllerMain.commandLine().execute(full));
      return buf.toString(StandardCharsets.UTF_8);
    } finally {
      System.setOut(old);
    }
  }

  @Test
  void aPolicyIsUsedOnlyForUesOfItsWeightFormat() {
    register("ue-int4", "int4"); // short form: group 32, symmetric, accuracy level 4
    register("ue-old", ""); // a UE from before the field: f32
    assertEquals("int4-g32-sym-a4", decision("ue-int4").getWeightFormat());
    SplitDecision old = decision("ue-old");
    assertEquals("f32", old.getWeightFormat());
    assertEquals(6, old.getSplit()); // the middle of 1..11
    assertTrue(old.getDetail().contains("trained for int4-g32-sym-a4"), old.getDetail());
    assertEquals(1.0, refusals("int4-g32-sym-a4", "f32"));

    // a bad channel: the policy moves its own format's UE and leaves the other where it is
    stub.reportChannel(
        ChannelReport.newBuilder()
            .setUeId("")
            .setSource(ChannelReportSource.CHANNEL_REPORT_SOURCE_UE)
            .setSigma(0.9)
            .setLossRate(0.05)
            .build());
    for (int i = 0; i < 3; i++) {
      service.evaluateAll();
    }
    assertEquals(9, decision("ue-int4").getSplit());
    assertEquals(6, decision("ue-old").getSplit());
    assertEquals(1.0, refusals("int4-g32-sym-a4", "f32"), "counted once per UE and policy");

    // cli get shows the format
    String out = cli("get", "--ue", "ue-int4");
    assertTrue(out.contains("weight_format: \"int4-g32-sym-a4\""), out);
    assertTrue(cli("get", "--ue", "ue-old").contains("weight_format: \"f32\""));

    // the shipped PPO policy was trained for f32: it now decides for ue-old and not for ue-int4
    PolicyStatus st = stub.setPolicy(SetPolicyRequest.newBuilder().setPolicy("ppo").build());
    assertEquals("f32", st.getWeightFormat());
    assertTrue(cli("policy").contains("weight_format: \"f32\""));
    SplitDecision int4 = decision("ue-int4");
    assertEquals(9, int4.getSplit());
    assertTrue(
        int4.getDetail().contains("this UE runs int4-g32-sym-a4: refused"), int4.getDetail());
    assertEquals(1.0, refusals("f32", "int4-g32-sym-a4"));
    // (on σ = 0.9, little noise in the default model's units, the shipped policy moves down)
    assertEquals(5, decision("ue-old").getSplit(), "ppo decided for the f32 UE");

    // a policy for any format (fixed) decides for both
    stub.setPolicy(SetPolicyRequest.newBuilder().setPolicy("fixed").build());
    assertEquals(2, decision("ue-int4").getSplit());
    assertEquals(2, decision("ue-old").getSplit());
  }

  @Test
  void anUnknownFormatIsRefusedAndCounted() {
    register("ue-1", "f16");
    StatusRuntimeException e =
        assertThrows(StatusRuntimeException.class, () -> register("ue-2", "q4_k_m"));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("unknown weight format 'q4_k_m'"));
    assertEquals(
        1.0,
        metrics.counter("controller_bad_requests_total", "rpc", "RegisterUe").count(),
        "counted");
    assertEquals(1, service.registeredUes());
    assertEquals("f16", decision("ue-1").getWeightFormat());
  }
}
