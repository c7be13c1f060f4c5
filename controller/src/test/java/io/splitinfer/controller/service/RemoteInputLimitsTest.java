package io.splitinfer.controller.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.controller.ppo.PpoCheckpoint;
import io.splitinfer.proto.v1.GetPolicyRequest;
import io.splitinfer.proto.v1.GetSplitRequest;
import io.splitinfer.proto.v1.SetPolicyRequest;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.UeRegistration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * What a remote caller can make the controller do with its own inputs: {@code SetPolicy} chooses a
 * checkpoint by name only (a path is refused before any file is read: the checkpoint loader records
 * every read), and a registration flood meets the UE cap and the registration TTL while a healthy,
 * registered UE keeps being served.
 */
class RemoteInputLimitsTest {
  final SplitControllerServiceTest.ManualClock clock = new SplitControllerServiceTest.ManualClock();
  final List<String> reads = new ArrayList<>();
  final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  ControllerServer server;
  ManagedChannel channel;
  SplitControllerGrpc.SplitControllerBlockingStub stub;
  SplitControllerService service;

  void start(RegistrationLimits limits) throws Exception {
    Function<String, PpoCheckpoint> recording =
        path -> {
          reads.add(path);
          return PolicyFactory.loadCheckpoint(""); // the jar's checkpoint, whatever was asked
        };
    PolicyFactory factory =
        new PolicyFactory("", "", 3, 1, Map.of("alt", "/opt/policies/alt.json"), recording);
    String name = InProcessServerBuilder.generateName();
    service =
        new SplitControllerService(
                SplitControllerServiceTest.SIGMA_POLICY,
                factory,
                new Hysteresis(2, Duration.ofSeconds(5), 0.0),
                4,
                clock,
                registry)
            .secure(io.splitinfer.core.security.Authz.off(), limits);
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

  static UeRegistration reg(String ue) {
    return UeRegistration.newBuilder()
        .setUeId(ue)
        .setEdgeId("e")
        .setNumLayers(10)
        .setMinSplit(1)
        .setMaxSplit(9)
        .build();
  }

  @Test
  void setPolicyWithAPathIsRefusedWithoutTouchingTheFilesystem() throws Exception {
    start(RegistrationLimits.defaults());
    for (String path :
        List.of("/etc/shadow", "../../etc/passwd", "policies/alt.json", "C:\\x", "alt/../alt")) {
      StatusRuntimeException e =
          assertThrows(
              StatusRuntimeException.class,
              () ->
                  stub.setPolicy(
                      SetPolicyRequest.newBuilder().setPolicy("ppo").setCheckpoint(path).build()));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), path);
      assertTrue(e.getStatus().getDescription().contains("[alt]"), e.getStatus().getDescription());
    }
    assertEquals(List.of(), reads, "no checkpoint was read");
    assertEquals("sigma-test", stub.getPolicy(GetPolicyRequest.getDefaultInstance()).getPolicy());
    // a name the controller was started with is read from the path given at startup
    assertEquals(
        "ppo",
        stub.setPolicy(SetPolicyRequest.newBuilder().setPolicy("ppo").setCheckpoint("alt").build())
            .getPolicy());
    assertEquals(List.of("/opt/policies/alt.json"), reads);
  }

  @Test
  void aRegistrationFloodMeetsTheCapAndTheTtlWhileAHealthyUeIsServed() throws Exception {
    start(new RegistrationLimits(100, Duration.ofSeconds(60)));
    stub.registerUe(reg("healthy"));
    int refused = 0;
    for (int i = 0; i < 2_000; i++) { // bounded flood of fresh ue_ids
      try {
        stub.registerUe(reg("fake-" + i));
      } catch (StatusRuntimeException e) {
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
        refused++;
      }
    }
    assertEquals(100, service.registeredUes());
    assertEquals(1_901, refused);
    assertEquals(
        1_901.0,
        registry.counter("controller_registrations_refused_total", "reason", "cap").count());
    // the healthy UE keeps being served, and its activity keeps it registered
    for (int t = 0; t < 3; t++) {
      clock.ms += 30_000;
      assertEquals(
          "healthy",
          stub.getSplit(GetSplitRequest.newBuilder().setUeId("healthy").build()).getUeId());
      service.decisionTick();
    }
    // 90 s later the idle fakes are gone; the healthy UE is not
    assertEquals(1, service.registeredUes());
    assertEquals(99.0, registry.counter("controller_ues_expired_total").count());
    stub.registerUe(reg("newcomer"));
    assertEquals(2, service.registeredUes());
  }
}
