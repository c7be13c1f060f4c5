package io.splitinfer.controller.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.proto.v1.ChannelReport;
import io.splitinfer.proto.v1.ChannelReportSource;
import io.splitinfer.proto.v1.DecisionReason;
import io.splitinfer.proto.v1.GetPolicyRequest;
import io.splitinfer.proto.v1.GetSplitRequest;
import io.splitinfer.proto.v1.OverrideRequest;
import io.splitinfer.proto.v1.SetPolicyRequest;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import io.splitinfer.proto.v1.WatchSplitRequest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class SplitControllerServiceTest {
  /** A policy proposing split = round(10·σ): the test drives decisions through σ. */
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

  static final class ManualClock extends Clock {
    long ms = 1_000_000;

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(ms);
    }
  }

  ManualClock clock = new ManualClock();
  ControllerServer server;
  ManagedChannel channel;
  SplitControllerGrpc.SplitControllerBlockingStub stub;
  SplitControllerService service;

  @BeforeEach
  void start() throws Exception {
    String name = InProcessServerBuilder.generateName();
    service =
        new SplitControllerService(
            SIGMA_POLICY,
            new PolicyFactory("", "", 3, 1),
            new Hysteresis(2, Duration.ofSeconds(5), 0.0),
            4,
            clock,
            new SimpleMeterRegistry());
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

  void register(String ue, String edge) {
    stub.registerUe(
        UeRegistration.newBuilder()
            .setUeId(ue)
            .setEdgeId(edge)
            .setNumLayers(10)
            .setMinSplit(1)
            .setMaxSplit(9)
            .build());
  }

  void report(String ue, double sigma) {
    stub.reportChannel(
        ChannelReport.newBuilder()
            .setUeId(ue)
            .setSource(ChannelReportSource.CHANNEL_REPORT_SOURCE_EDGE_PILOT)
            .setSigma(sigma)
            .setLossRate(0.05)
            .build());
  }

  BlockingQueue<SplitDecision> watch(WatchSplitRequest req) {
    BlockingQueue<SplitDecision> q = new LinkedBlockingQueue<>();
    SplitControllerGrpc.newStub(channel)
        .watchSplit(
            req,
            new StreamObserver<>() {
              @Override
              public void onNext(SplitDecision d) {
                q.add(d);
              }

              @Override
              public void onError(Throwable t) {}

              @Override
              public void onCompleted() {}
            });
    return q;
  }

  @Test
  void healthIsServing() {
    HealthCheckResponse r =
        HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.newBuilder().build());
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, r.getStatus());
  }

  @Test
  void unknownUeIsNotFound() {
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () -> stub.getSplit(GetSplitRequest.newBuilder().setUeId("nobody").build()));
    assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
    e =
        assertThrows(
            StatusRuntimeException.class,
            () -> stub.override(OverrideRequest.newBuilder().setUeId("nobody").build()));
    assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
  }

  @Test
  void watchersReceiveIncreasingEpochsWithHysteresis() throws Exception {
    register("ue1", "edge1");
    BlockingQueue<SplitDecision> ueQ = watch(WatchSplitRequest.newBuilder().setUeId("ue1").build());
    BlockingQueue<SplitDecision> edgeQ =
        watch(WatchSplitRequest.newBuilder().setEdgeId("edge1").build());
    SplitDecision first = ueQ.poll(1, TimeUnit.SECONDS);
    assertEquals(4, first.getSplit());
    assertEquals(DecisionReason.DECISION_REASON_INITIAL, first.getReason());
    assertEquals(first, edgeQ.poll(1, TimeUnit.SECONDS));

    // the policy wants 7: one proposal is not enough (2 confirmations)
    report("ue1", 0.7);
    assertEquals(4, stub.getSplit(GetSplitRequest.newBuilder().setUeId("ue1").build()).getSplit());
    assertTrue(ueQ.isEmpty());
    service.evaluateAll(); // second confirmation, dwell satisfied since registration? no: 0 s
    clock.ms += 6_000;
    service.evaluateAll();
    SplitDecision second = ueQ.poll(1, TimeUnit.SECONDS);
    assertEquals(7, second.getSplit());
    assertEquals(DecisionReason.DECISION_REASON_POLICY, second.getReason());
    assertTrue(second.getEpoch() > first.getEpoch());
    assertEquals(second, edgeQ.poll(1, TimeUnit.SECONDS));

    // flapping proposals 3, 7(current), 3 ... never confirm twice in a row -> no change
    report("ue1", 0.3);
    report("ue1", 0.7);
    report("ue1", 0.3);
    report("ue1", 0.7);
    assertTrue(ueQ.isEmpty(), "flapped: " + ueQ);

    // min dwell: confirmed twice but too soon after the last change
    clock.ms += 1_000;
    report("ue1", 0.2);
    service.evaluateAll();
    assertTrue(ueQ.isEmpty());
    clock.ms += 5_000;
    service.evaluateAll();
    SplitDecision third = ueQ.poll(1, TimeUnit.SECONDS);
    assertEquals(2, third.getSplit());
    assertTrue(third.getEpoch() > second.getEpoch());
  }

  @Test
  void pinHoldsTheSplitUntilUnpinned() throws Exception {
    register("ue1", "edge1");
    BlockingQueue<SplitDecision> q = watch(WatchSplitRequest.newBuilder().setUeId("ue1").build());
    long e0 = q.poll(1, TimeUnit.SECONDS).getEpoch();
    SplitDecision pinned =
        stub.override(OverrideRequest.newBuilder().setUeId("ue1").setPin(true).setSplit(8).build());
    assertTrue(pinned.getPinned());
    assertEquals(8, pinned.getSplit());
    assertEquals(DecisionReason.DECISION_REASON_OPERATOR_PIN, pinned.getReason());
    assertEquals(pinned, q.poll(1, TimeUnit.SECONDS));
    assertTrue(pinned.getEpoch() > e0);
    // the policy is ignored while pinned
    report("ue1", 0.2);
    clock.ms += 10_000;
    service.evaluateAll();
    service.evaluateAll();
    assertEquals(8, stub.getSplit(GetSplitRequest.newBuilder().setUeId("ue1").build()).getSplit());
    // out of range pin is refused
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                stub.override(
                    OverrideRequest.newBuilder().setUeId("ue1").setPin(true).setSplit(10).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    // unpin returns to the policy at once
    SplitDecision unpinned =
        stub.override(OverrideRequest.newBuilder().setUeId("ue1").setPin(false).build());
    assertFalse(unpinned.getPinned());
    assertEquals(2, unpinned.getSplit());
    assertEquals(DecisionReason.DECISION_REASON_OPERATOR_UNPIN, unpinned.getReason());
    assertTrue(unpinned.getEpoch() > pinned.getEpoch());
  }

  @Test
  void setPolicySwitchesAtRunTime() throws Exception {
    register("ue1", "edge1");
    report("ue1", 0.5);
    var st = stub.setPolicy(SetPolicyRequest.newBuilder().setPolicy("fixed").build());
    assertEquals("fixed", st.getPolicy());
    SplitDecision d = stub.getSplit(GetSplitRequest.newBuilder().setUeId("ue1").build());
    assertEquals(3, d.getSplit());
    assertEquals(DecisionReason.DECISION_REASON_POLICY_CHANGED, d.getReason());
    assertEquals("fixed", stub.getPolicy(GetPolicyRequest.getDefaultInstance()).getPolicy());
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () -> stub.setPolicy(SetPolicyRequest.newBuilder().setPolicy("nope").build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                stub.setPolicy(
                    SetPolicyRequest.newBuilder()
                        .setPolicy("ppo")
                        .setCheckpoint("/does/not/exist.json")
                        .build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
  }

  @Test
  void declaredReportWithoutUeIdAppliesToEveryUeIncludingLaterOnes() {
    register("a", "e");
    register("b", "e");
    stub.reportChannel(
        ChannelReport.newBuilder()
            .setSource(ChannelReportSource.CHANNEL_REPORT_SOURCE_UE)
            .setSigma(0.6)
            .build());
    clock.ms += 10_000;
    service.evaluateAll();
    register("c", "e");
    clock.ms += 10_000;
    service.evaluateAll();
    service.evaluateAll();
    for (String ue : new String[] {"a", "b", "c"}) {
      assertEquals(6, stub.getSplit(GetSplitRequest.newBuilder().setUeId(ue).build()).getSplit());
    }
  }

  @Test
  void channelSimTruthIsNeverMixedIntoTheEstimate() {
    register("a", "e");
    // the edge's evidence: σ 0.3 from 1000 pilot dof, 2 of 100 packets lost
    stub.reportChannel(
        ChannelReport.newBuilder()
            .setUeId("a")
            .setSource(ChannelReportSource.CHANNEL_REPORT_SOURCE_EDGE_PILOT)
            .setSigma(0.3)
            .setSigmaDof(1000)
            .setPilots(2)
            .setPacketsSeen(100)
            .setPacketsLost(2)
            .setWindowMs(500)
            .build());
    clock.ms += 10_000;
    service.evaluateAll();
    assertEquals(3, stub.getSplit(GetSplitRequest.newBuilder().setUeId("a").build()).getSplit());
    // later, channel-sim's ground truth (for everyone, and for a): noisy. Not acted on.
    for (String ue : new String[] {"", "a"}) {
      stub.reportChannel(
          ChannelReport.newBuilder()
              .setUeId(ue)
              .setSource(ChannelReportSource.CHANNEL_REPORT_SOURCE_CHANNEL_SIM)
              .setSigma(0.6)
              .build());
    }
    service.observeTruth(io.splitinfer.core.channel.ChannelState.declared(0.8, 0.1));
    clock.ms += 10_000;
    service.evaluateAll();
    service.evaluateAll();
    SplitDecision d = stub.getSplit(GetSplitRequest.newBuilder().setUeId("a").build());
    assertEquals(3, d.getSplit());
    assertEquals(0.02, d.getLossRate(), 1e-9);
    assertEquals(ChannelReportSource.CHANNEL_REPORT_SOURCE_EDGE_PILOT, d.getChannelSource());
  }

  @Test
  void badEvidenceIsRejectedWithAReason() {
    register("a", "e");
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                stub.reportChannel(
                    ChannelReport.newBuilder()
                        .setUeId("a")
                        .setPacketsSeen(5)
                        .setPacketsLost(6)
                        .build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("packets_lost"));
    StatusRuntimeException blank =
        assertThrows(
            StatusRuntimeException.class,
            () -> stub.reportChannel(ChannelReport.newBuilder().setPacketsSeen(5).build()));
    assertTrue(blank.getStatus().getDescription().contains("ue_id"));
  }
}
