package io.splitinfer.controller.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.controller.service.ControllerServer;
import io.splitinfer.controller.service.Hysteresis;
import io.splitinfer.controller.service.PolicyFactory;
import io.splitinfer.controller.service.SplitControllerService;
import io.splitinfer.controller.service.SplitPolicy;
import io.splitinfer.proto.v1.ChannelReport;
import io.splitinfer.proto.v1.ChannelReportSource;
import io.splitinfer.proto.v1.DecisionReason;
import io.splitinfer.proto.v1.EdgeRegistration;
import io.splitinfer.proto.v1.GetPolicyRequest;
import io.splitinfer.proto.v1.GetSplitRequest;
import io.splitinfer.proto.v1.OverrideRequest;
import io.splitinfer.proto.v1.SetPolicyRequest;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * What every records database must do for a restartable controller: the same tests run on an H2
 * file ({@link H2ControllerStoreTest}) and on a real PostgreSQL server ({@link
 * PostgresControllerStoreTest}).
 */
abstract class ControllerStoreContract {
  /** A location (path or JDBC URL) of an empty database; the same value reopens it. */
  abstract String newLocation() throws Exception;

  /** A policy proposing split = round(10·σ): decisions follow the declared σ. */
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
    volatile long ms;

    ManualClock(long ms) {
      this.ms = ms;
    }

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(ms);
    }
  }

  static UeRegistration ue(String id, int min, int max) {
    return UeRegistration.newBuilder()
        .setUeId(id)
        .setEdgeId("edge-a")
        .setModelId("m")
        .setNumLayers(12)
        .setMinSplit(min)
        .setMaxSplit(max)
        .build();
  }

  static SplitDecision decision(String ue, int split, long epoch, boolean pinned) {
    return SplitDecision.newBuilder()
        .setUeId(ue)
        .setSplit(split)
        .setEpoch(epoch)
        .setReason(DecisionReason.DECISION_REASON_POLICY)
        .setPolicy("ppo")
        .setPinned(pinned)
        .setSigma(Double.NaN)
        .setSigmaH(Double.POSITIVE_INFINITY)
        .setDecidedAtUnixMs(epoch)
        .build();
  }

  @Test
  void schemaIsIdempotentAndStateSurvivesReopening() throws Exception {
    String loc = newLocation();
    try (ControllerStore s = ControllerStore.open(loc)) {
      s.ue(ue("ue-1", 1, 11), 1, 11, 100);
      s.ue(ue("ue-2", 2, 9), 2, 9, 101);
      // re-registration replaces the range (and the UE now runs int4 weights)
      s.ue(ue("ue-1", 3, 8).toBuilder().setWeightFormat("int4-g32-sym-a4").build(), 3, 8, 102);
      s.ue(ue("ue-3", 1, 11), 1, 11, 103); // registered, never decided: not restored
      s.edge(
          EdgeRegistration.newBuilder().setEdgeId("edge-a").setAdvertisedAddress("a:1").build(), 1);
      s.edge(
          EdgeRegistration.newBuilder().setEdgeId("edge-a").setAdvertisedAddress("a:2").build(), 2);
      s.decision(decision("ue-1", 6, 1_000, false));
      s.decision(decision("ue-1", 7, 1_001, false));
      s.decision(decision("ue-1", 4, 5_000, true));
      s.decision(decision("ue-2", 5, 2_000, false));
      s.policy("fixed", "", 1);
      s.policy("ppo", "/x/p.json", 2);
    }
    try (ControllerStore s = ControllerStore.open(loc)) { // the schema again: no error, no loss
      ControllerStore.Snapshot snap = s.load();
      assertEquals(2, snap.ues().size()); // ordered by id
      ControllerStore.UeState u1 = snap.ues().get(0);
      assertEquals("ue-1", u1.registration().getUeId());
      assertEquals(3, u1.minSplit());
      assertEquals(8, u1.maxSplit());
      assertEquals("int4-g32-sym-a4", u1.registration().getWeightFormat()); // survives a restart
      assertEquals(decision("ue-1", 4, 5_000, true), u1.decision()); // newest epoch, NaN/∞ kept
      assertEquals(5, snap.ues().get(1).decision().getSplit());
      assertEquals(
          List.of("a:2"), snap.edges().stream().map(e -> e.getAdvertisedAddress()).toList());
      assertEquals(
          new ControllerStore.PolicyChoice("ppo", "/x/p.json"), snap.policy().orElseThrow());
      assertEquals(
          List.of(1_000L, 1_001L, 5_000L),
          s.decisions("ue-1").stream().map(SplitDecision::getEpoch).toList());
    }
  }

  /**
   * A controller restarted mid-run on the same database: it knows every UE, edge, pin and the
   * policy choice, and its next epoch exceeds every epoch before — even with a clock that went back
   * an hour (so the order comes from the database, not from the wall clock).
   */
  @Test
  void restartedControllerReloadsEverythingAndEpochsStayMonotonic() throws Exception {
    String loc = newLocation();
    ManualClock clock = new ManualClock(10_000_000);
    List<Long> epochs = new ArrayList<>();
    PolicyFactory factory = new PolicyFactory("", "", 3, 1);
    try (ControllerStore store = ControllerStore.open(loc);
        Running c =
            new Running(SIGMA_POLICY, factory, clock, store, ControllerStore.Snapshot.EMPTY)) {
      c.stub.registerEdge(EdgeRegistration.newBuilder().setEdgeId("edge-a").build());
      epochs.add(c.stub.registerUe(ue("ue-1", 1, 11)).getDecision().getEpoch());
      epochs.add(c.stub.registerUe(ue("ue-2", 1, 11)).getDecision().getEpoch());
      for (double sigma : new double[] {0.2, 0.9}) {
        c.declare("ue-1", sigma);
        clock.ms += 10;
        c.declare("ue-1", sigma);
        epochs.add(c.split("ue-1").getEpoch());
      }
      assertEquals(9, c.split("ue-1").getSplit());
      epochs.add(
          c.stub
              .override(
                  OverrideRequest.newBuilder().setUeId("ue-2").setPin(true).setSplit(3).build())
              .getEpoch());
      c.stub.setPolicy(SetPolicyRequest.newBuilder().setPolicy("fixed").build());
      assertEquals(3, c.split("ue-1").getSplit()); // the fixed policy's split
      epochs.add(c.split("ue-1").getEpoch());
    }
    long maxBefore = epochs.stream().mapToLong(Long::longValue).max().orElseThrow();

    clock.ms -= 3_600_000; // the new process' clock is an hour behind
    try (ControllerStore store = ControllerStore.open(loc)) {
      ControllerStore.Snapshot snap = store.load();
      SplitPolicy restored = StoredPolicy.initial(factory, "ppo", "", snap);
      try (Running c = new Running(restored, factory, clock, store, snap)) {
        assertEquals("fixed", c.stub.getPolicy(GetPolicyRequest.getDefaultInstance()).getPolicy());
        SplitDecision u1 = c.split("ue-1");
        assertEquals(3, u1.getSplit());
        assertEquals(DecisionReason.DECISION_REASON_POLICY_CHANGED, u1.getReason());
        SplitDecision u2 = c.split("ue-2");
        assertEquals(3, u2.getSplit());
        assertTrue(u2.getPinned(), "a pin survives the restart");
        // the UE re-registers: its decision in force is kept, not reset to the initial split
        assertEquals(u1, c.stub.registerUe(ue("ue-1", 1, 11)).getDecision());
        SplitDecision next =
            c.stub.override(OverrideRequest.newBuilder().setUeId("ue-2").setPin(false).build());
        assertTrue(
            next.getEpoch() > maxBefore,
            "epoch " + next.getEpoch() + " after the restart <= " + maxBefore + " before");
        assertTrue(!next.getPinned());
      }
    }
  }

  /** A controller on an in-process server, journaling to {@code store}. */
  static final class Running implements AutoCloseable {
    final ControllerServer server;
    final ManagedChannel channel;
    final SplitControllerGrpc.SplitControllerBlockingStub stub;

    Running(
        SplitPolicy policy,
        PolicyFactory factory,
        Clock clock,
        ControllerStore store,
        ControllerStore.Snapshot snapshot)
        throws Exception {
      SplitControllerService service =
          new SplitControllerService(
              policy,
              factory,
              new Hysteresis(2, Duration.ZERO, 0.0),
              -1,
              clock,
              new SimpleMeterRegistry());
      service.restore(snapshot, store);
      String name = InProcessServerBuilder.generateName();
      server =
          new ControllerServer(
                  service,
                  InProcessServerBuilder.forName(name).directExecutor(),
                  Duration.ZERO,
                  null)
              .start();
      channel = InProcessChannelBuilder.forName(name).directExecutor().build();
      stub = SplitControllerGrpc.newBlockingStub(channel);
    }

    void declare(String ue, double sigma) {
      stub.reportChannel(
          ChannelReport.newBuilder()
              .setUeId(ue)
              .setSource(ChannelReportSource.CHANNEL_REPORT_SOURCE_EDGE_PILOT)
              .setSigma(sigma)
              .setLossRate(0.05)
              .build());
    }

    SplitDecision split(String ue) {
      return stub.getSplit(GetSplitRequest.newBuilder().setUeId(ue).build());
    }

    @Override
    public void close() {
      channel.shutdownNow();
      server.close();
    }
  }
}
