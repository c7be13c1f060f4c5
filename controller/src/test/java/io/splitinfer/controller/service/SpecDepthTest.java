package io.splitinfer.controller.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.proto.v1.DecisionReason;
import io.splitinfer.proto.v1.EdgeCapacity;
import io.splitinfer.proto.v1.EdgeLoad;
import io.splitinfer.proto.v1.EdgeRegistration;
import io.splitinfer.proto.v1.GetSplitRequest;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class SpecDepthTest {
  @Test
  void tokensPerRoundAndTheEdgeOptimalDepth() {
    assertEquals(1.0, SpecDepth.tokensPerRound(0, 0.4), 1e-12);
    assertEquals(1 + 0.4 + 0.16, SpecDepth.tokensPerRound(2, 0.4), 1e-12);
    // a = 0.4: E(k) / (1 + k c): cheap rows (ONNX Runtime) -> 2, the vector engine's -> 1
    assertEquals(2, new SpecDepth(6, 0.4, 0.05, 1).edgeOptimal());
    assertEquals(1, new SpecDepth(6, 0.4, 0.35, 1).edgeOptimal());
    assertEquals(0, new SpecDepth(6, 0.4, 0.7, 1).edgeOptimal(), "rows dearer than they yield");
    assertEquals(6, new SpecDepth(6, 0.95, 0.01, 1).edgeOptimal(), "capped at max");
    SpecDepth d = new SpecDepth(4, 0.4, 0.35, 1.5);
    assertEquals(4, d.advise(null), "no report: no limit below max");
    assertEquals(4, d.advise(EdgeLoad.newBuilder().setDecodeQueue(1.4).build()));
    assertEquals(1, d.advise(EdgeLoad.newBuilder().setDecodeQueue(1.5).build()));
    assertFalse(SpecDepth.OFF.enabled());
    assertThrows(IllegalArgumentException.class, () -> new SpecDepth(-1, 0.4, 0.1, 1));
    assertThrows(IllegalArgumentException.class, () -> new SpecDepth(4, 1.0, 0.1, 1));
    assertThrows(IllegalArgumentException.class, () -> new SpecDepth(4, Double.NaN, 0.1, 1));
    assertThrows(IllegalArgumentException.class, () -> new SpecDepth(4, 0.4, -0.1, 1));
    assertThrows(IllegalArgumentException.class, () -> new SpecDepth(4, 0.4, 0.1, 0));
  }

  @Test
  void decisionsCarryTheAdviceAndAreReissuedWhenTheEdgeSaturates() throws Exception {
    SplitControllerServiceTest.ManualClock clock = new SplitControllerServiceTest.ManualClock();
    SplitControllerService service =
        new SplitControllerService(
                SplitControllerServiceTest.SIGMA_POLICY,
                new PolicyFactory("", "", 3, 1),
                new Hysteresis(2, Duration.ofSeconds(5), 0.0),
                4,
                clock,
                new SimpleMeterRegistry())
            .speculation(new SpecDepth(4, 0.4, 0.35, 1.0));
    String name = InProcessServerBuilder.generateName();
    try (ControllerServer server =
        new ControllerServer(
                service, InProcessServerBuilder.forName(name).directExecutor(), Duration.ZERO, null)
            .start()) {
      ManagedChannel channel = InProcessChannelBuilder.forName(name).directExecutor().build();
      try {
        var stub = SplitControllerGrpc.newBlockingStub(channel);
        service
            .pool()
            .register(
                EdgeRegistration.newBuilder()
                    .setEdgeId("e1")
                    .setAdvertisedAddress("e1:50052")
                    .setModelId("m")
                    .setNumLayers(10)
                    .setCapacity(
                        EdgeCapacity.newBuilder()
                            .setMaxSessions(8)
                            .setKvBudgetBytes(1 << 20)
                            .setMaxSplit(10))
                    .build());
        long token = service.pool().open("e1");
        service.pool().report("e1", token, EdgeLoad.newBuilder().setEdgeId("e1").build());
        stub.registerUe(
            UeRegistration.newBuilder()
                .setUeId("ue")
                .setEdgeId("e1")
                .setNumLayers(10)
                .setMinSplit(1)
                .setMaxSplit(9)
                .build());
        GetSplitRequest get = GetSplitRequest.newBuilder().setUeId("ue").build();
        SplitDecision first = stub.getSplit(get);
        assertTrue(first.hasSpecK());
        assertEquals(4, first.getSpecK(), "idle edge: the max");

        service.decisionTick();
        assertEquals(first.getEpoch(), stub.getSplit(get).getEpoch(), "no change, no new epoch");

        service
            .pool()
            .report("e1", token, EdgeLoad.newBuilder().setEdgeId("e1").setDecodeQueue(3).build());
        clock.ms += 10;
        service.decisionTick();
        SplitDecision saturated = stub.getSplit(get);
        assertEquals(1, saturated.getSpecK(), "saturated edge: E(k) / (1 + 0.35 k) is best at 1");
        assertEquals(first.getSplit(), saturated.getSplit());
        assertTrue(saturated.getEpoch() > first.getEpoch());
        assertEquals(DecisionReason.DECISION_REASON_SPEC_DEPTH, saturated.getReason());

        service
            .pool()
            .report("e1", token, EdgeLoad.newBuilder().setEdgeId("e1").setDecodeQueue(0.2).build());
        clock.ms += 10;
        service.decisionTick();
        assertEquals(4, stub.getSplit(get).getSpecK(), "capacity back: the max again");
      } finally {
        channel.shutdownNow();
      }
    }
  }
}
