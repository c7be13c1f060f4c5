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
import io.splitinfer.controller.baseline.Oracle;
import io.splitinfer.controller.env.ChannelCase;
import io.splitinfer.controller.env.ChannelDraw;
import io.splitinfer.controller.env.EnvConfig;
import io.splitinfer.controller.env.SplitEnvironment;
import io.splitinfer.controller.reward.SyntheticReward;
import io.splitinfer.core.objective.Objective;
import io.splitinfer.core.objective.UeCost;
import io.splitinfer.proto.v1.ChannelReport;
import io.splitinfer.proto.v1.DecisionReason;
import io.splitinfer.proto.v1.GetFloorRequest;
import io.splitinfer.proto.v1.GetSplitRequest;
import io.splitinfer.proto.v1.OverrideRequest;
import io.splitinfer.proto.v1.SetFloorRequest;
import io.splitinfer.proto.v1.SetPolicyRequest;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import java.time.Clock;
import java.time.Duration;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The privacy floor: table mapping, the service under every channel, and the environment. */
class PrivacyFloorTest {
  static final int L = 12;
  static final double[] SIGMAS = {0, 0.25, 0.5, 1, 2, 3, 4, 6, 8, 12};
  static final double[] LOSSES = {0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.8};

  String name;
  SimpleMeterRegistry metrics = new SimpleMeterRegistry();
  ControllerServer server;
  ManagedChannel channel;
  SplitControllerGrpc.SplitControllerBlockingStub stub;

  @BeforeEach
  void start() throws Exception {
    name = InProcessServerBuilder.generateName();
    PolicyFactory factory = new PolicyFactory("", "", 1, 7);
    SplitControllerService service =
        new SplitControllerService(
            factory.create("oracle", ""),
            factory,
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

  void register(String ue, int ownFloor) {
    stub.registerUe(
        UeRegistration.newBuilder()
            .setUeId(ue)
            .setEdgeId("edge-1")
            .setNumLayers(L)
            .setMinSplit(1)
            .setMaxSplit(L - 1)
            .setPrivacyMinSplit(ownFloor)
            .build());
  }

  SplitDecision split(String ue) {
    return stub.getSplit(GetSplitRequest.newBuilder().setUeId(ue).build());
  }

  void report(String ue, double sigma, double loss) {
    stub.reportChannel(
        ChannelReport.newBuilder().setUeId(ue).setSigma(sigma).setLossRate(loss).build());
  }

  @Test
  void tableMapsARecoveryRateToTheSmallestSafeSplit() {
    PrivacyFloor.Table t =
        PrivacyFloor.Table.parse(
            "split,max_recovery_rate,max_recovery_hi95\n"
                + "0,1,1\n1,0.9,0.95\n2,0.5,0.6\n3,0.2,0.3\n4,0.25,0.35\n5,0.1,0.2\n",
            "test");
    assertEquals(5, t.numLayers());
    assertEquals(0, t.minSplitFor(1.0));
    assertEquals(1, t.minSplitFor(0.95));
    assertEquals(2, t.minSplitFor(0.6));
    assertEquals(3, t.minSplitFor(0.35)); // 4 (0.35) and 5 (0.2) also meet it
    assertEquals(5, t.minSplitFor(0.3)); // 3 meets 0.3 but 4 does not: the floor is 5
    IllegalStateException none =
        assertThrows(IllegalStateException.class, () -> t.minSplitFor(0.1));
    assertTrue(
        none.getMessage().contains("no split keeps token recovery <= 0.100"), none.getMessage());
    assertThrows(IllegalArgumentException.class, () -> t.minSplitFor(1.5));

    PrivacyFloor.Table shipped = PrivacyFloor.Table.shipped();
    assertEquals(L, shipped.numLayers(), "measured on the 12-layer default model");
    assertEquals(0, shipped.minSplitFor(1.0));
  }

  @Test
  void noDecisionGoesBelowTheFloorUnderAnyChannelOrPolicy() {
    SplittableRandom rnd = new SplittableRandom(3);
    for (String policy : new String[] {"oracle", "ppo", "random", "fixed"}) {
      stub.setPolicy(SetPolicyRequest.newBuilder().setPolicy(policy).build());
      for (int floor = 0; floor <= L - 1; floor++) {
        String ue = policy + "-" + floor;
        register(ue, 0);
        stub.setFloor(SetFloorRequest.newBuilder().setUeId(ue).setMinSplit(floor).build());
        int bound = 0;
        for (double sigma : SIGMAS) {
          for (double loss : LOSSES) {
            // a random visiting order, so the split also arrives from above and below
            report(ue, sigma * (0.9 + 0.2 * rnd.nextDouble()), loss);
            SplitDecision d = split(ue);
            assertTrue(
                d.getSplit() >= floor,
                policy + " σ=" + sigma + " loss=" + loss + " floor " + floor + ": " + d);
            assertTrue(d.getPrivacyFloor() <= floor, d.toString()); // as of the decision
            if (d.getReason() == DecisionReason.DECISION_REASON_PRIVACY_FLOOR) {
              assertEquals(floor, d.getSplit(), d.toString());
              assertTrue(d.getDetail().contains("privacy floor"), d.getDetail());
              bound++;
            }
          }
        }
        if (policy.equals("fixed") && floor > 1 && floor != (1 + L - 1) / 2) {
          // (at the initial split p = 6 the floor binds without changing the split: no decision)
          // fixed wants p = 1 always: the floor must have bound it and said so
          assertTrue(
              bound > 0 || split(ue).getReason() == DecisionReason.DECISION_REASON_PRIVACY_FLOOR,
              "floor " + floor + " never reported as binding");
        }
      }
    }
  }

  @Test
  void raisingTheFloorMovesUesAtOnceAndPinsBelowItAreRefused() {
    register("ue-a", 0);
    register("ue-b", 9); // the UE's own floor
    assertTrue(split("ue-b").getSplit() >= 9, split("ue-b").toString());
    assertEquals(
        9, stub.getFloor(GetFloorRequest.newBuilder().setUeId("ue-b").build()).getUeMinSplit());

    stub.override(OverrideRequest.newBuilder().setUeId("ue-a").setPin(true).setSplit(2).build());
    var st = stub.setFloor(SetFloorRequest.newBuilder().setMinSplit(5).build()); // default
    assertEquals(5, st.getMinSplit());
    SplitDecision a = split("ue-a");
    assertEquals(5, a.getSplit());
    assertEquals(DecisionReason.DECISION_REASON_PRIVACY_FLOOR, a.getReason());
    assertEquals(
        9, stub.getFloor(GetFloorRequest.newBuilder().setUeId("ue-b").build()).getMinSplit());

    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                stub.override(
                    OverrideRequest.newBuilder().setUeId("ue-a").setPin(true).setSplit(4).build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("privacy floor"));

    e =
        assertThrows(
            StatusRuntimeException.class,
            () -> stub.setFloor(SetFloorRequest.newBuilder().setMinSplit(12).build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode()); // above max_split 11
    assertTrue(e.getStatus().getDescription().contains("max_split"), e.getStatus().toString());
    e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                stub.setFloor(
                    SetFloorRequest.newBuilder().setUeId("ue-a").setMinSplit(13).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode()); // outside 0..L
    e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                stub.setFloor(
                    SetFloorRequest.newBuilder().setUeId("ue-a").setMaxRecovery(-0.1).build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                stub.setFloor(
                    SetFloorRequest.newBuilder().setUeId("nobody").setMinSplit(2).build()));
    assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
    e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                stub.registerUe(
                    UeRegistration.newBuilder()
                        .setUeId("ue-c")
                        .setNumLayers(L)
                        .setMinSplit(1)
                        .setMaxSplit(L - 1)
                        .setPrivacyMinSplit(L)
                        .build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
    assertEquals(5, split("ue-a").getSplit()); // still serving, state intact
  }

  @Test
  void environmentTakesTheFloorInEveryCase() {
    EnvConfig cfg = EnvConfig.forModel(L, 8.0);
    Objective obj = new Objective(new UeCost(64, 256, L), 50.0);
    SyntheticReward reward = new SyntheticReward(L);
    for (ChannelCase c : ChannelCase.values()) {
      for (int floor = 0; floor <= L - 1; floor++) {
        SplitEnvironment env =
            new SplitEnvironment(cfg, c, reward, obj, 11L * floor).withPrivacyFloor(floor);
        SplittableRandom rnd = new SplittableRandom(floor);
        Oracle oracle = new Oracle();
        for (int ep = 0; ep < 20; ep++) {
          double[] obs = ep % 2 == 0 ? env.reset() : env.reset(ChannelDraw.ofLoss(8, 0.5, 1), 1);
          assertTrue(env.split() >= floor);
          for (int k = 0; k < cfg.episodeLength(); k++) {
            int a = ep % 4 < 2 ? rnd.nextInt(SplitEnvironment.ACTIONS) : oracle.act(env, obs);
            obs = env.step(a).observation();
            assertTrue(env.split() >= floor, c + " floor " + floor + " split " + env.split());
          }
        }
      }
    }
    assertThrows(
        IllegalArgumentException.class,
        () -> new SplitEnvironment(cfg, ChannelCase.A, reward, obj, 1).withPrivacyFloor(L));
  }
}
