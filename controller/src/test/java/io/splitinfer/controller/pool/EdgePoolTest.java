package io.splitinfer.controller.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.proto.v1.EdgeAssignment;
import io.splitinfer.proto.v1.EdgeCapacity;
import io.splitinfer.proto.v1.EdgeLoad;
import io.splitinfer.proto.v1.EdgeRegistration;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class EdgePoolTest {
  final SimpleMeterRegistry metrics = new SimpleMeterRegistry();
  final MutableClock clock = new MutableClock();
  EdgePool pool;
  static final Placement.Request UE = new Placement.Request("m", 1, 11);

  static final class MutableClock extends Clock {
    long ms = 1_000_000;

    @Override
    public long millis() {
      return ms;
    }

    @Override
    public Instant instant() {
      return Instant.ofEpochMilli(ms);
    }

    @Override
    public ZoneOffset getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(java.time.ZoneId zone) {
      return this;
    }
  }

  @BeforeEach
  void setUp() {
    pool = new EdgePool(clock, Duration.ofSeconds(5), metrics);
  }

  static EdgeRegistration reg(String id, String address) {
    return EdgeRegistration.newBuilder()
        .setEdgeId(id)
        .setAdvertisedAddress(address)
        .setModelId("m")
        .setNumLayers(12)
        .setCapacity(
            EdgeCapacity.newBuilder()
                .setMaxSessions(8)
                .setKvBudgetBytes(1 << 20)
                .setMinSplit(0)
                .setMaxSplit(12))
        .build();
  }

  long join(String id) throws PoolException {
    pool.register(reg(id, id + ":50052"));
    return pool.open(id);
  }

  double refusals(String reason) {
    var c = metrics.find("controller_pool_refusals_total").tag("reason", reason).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void eightUesOnThreeEdgesEndUpThreeThreeTwoAndSticky() throws PoolException {
    join("e1");
    join("e2");
    join("e3");
    Map<String, Integer> per = new HashMap<>();
    for (int i = 0; i < 8; i++) {
      EdgeAssignment a = pool.place("ue-" + i, UE, "");
      per.merge(a.getEdgeId(), 1, Integer::sum);
      assertEquals(a.getEdgeId() + ":50052", a.getAddress());
    }
    assertEquals(Map.of("e1", 3, "e2", 3, "e3", 2), per);
    EdgeAssignment again = pool.place("ue-0", UE, "");
    assertEquals("e1", again.getEdgeId(), "a UE keeps its edge while it fits");
    assertTrue(again.getDetail().startsWith("kept"));
    assertEquals(2, again.getFallbackAddressesCount(), "the other two, least loaded first");
  }

  @Test
  void reportedLoadSteersPlacement() throws PoolException {
    long t1 = join("e1");
    join("e2");
    pool.report("e1", t1, EdgeLoad.newBuilder().setEdgeId("e1").setActiveSessions(6).build());
    assertEquals("e2", pool.place("u", UE, "").getEdgeId());
  }

  @Test
  void anEdgeWhoseStreamEndsLeavesAndItsUesAreUnplaced() throws PoolException {
    long t1 = join("e1");
    join("e2");
    pool.place("u1", UE, "e1");
    assertEquals("e1", pool.placement("u1"));
    pool.closed("e1", t1, "stream_ended");
    assertNull(pool.placement("u1"));
    assertEquals(1, pool.size());
    assertEquals("e2", pool.place("u1", UE, "").getEdgeId());
    assertEquals(
        1.0,
        metrics.find("controller_pool_removed_total").tag("why", "stream_ended").counter().count());
  }

  @Test
  void aSilentEdgeExpiresAndAnOldStreamEndingChangesNothing() throws PoolException {
    long old = join("e1");
    long fresh = pool.open("e1"); // the edge reconnected: the newer stream is the membership
    pool.closed("e1", old, "stream_ended");
    assertEquals(1, pool.size());
    clock.ms += 4_000;
    pool.report("e1", fresh, EdgeLoad.newBuilder().setEdgeId("e1").build());
    clock.ms += 4_000;
    pool.expire();
    assertEquals(1, pool.size(), "heard from 4 s ago, TTL 5 s");
    clock.ms += 1_001;
    pool.expire();
    assertEquals(0, pool.size());
    assertEquals(
        1.0, metrics.find("controller_pool_removed_total").tag("why", "silent").counter().count());
  }

  @Test
  void aUeNamingABogusEdgeGetsNotFoundAndIsCounted() throws PoolException {
    join("e1");
    PoolException e = assertThrows(PoolException.class, () -> pool.place("u", UE, "edge-x"));
    assertEquals(Status.Code.NOT_FOUND, e.status().getCode());
    assertTrue(e.getMessage().contains("edge-x"));
    assertEquals(1.0, refusals("bogus_edge"));
    assertNull(pool.placement("u"));
  }

  @Test
  void noEdgeServingTheModelIsAPreconditionAndAFullPoolIsExhausted() throws PoolException {
    long t = join("e1");
    PoolException none =
        assertThrows(
            PoolException.class, () -> pool.place("u", new Placement.Request("other", 1, 11), ""));
    assertEquals(Status.Code.FAILED_PRECONDITION, none.status().getCode());
    pool.report("e1", t, EdgeLoad.newBuilder().setEdgeId("e1").setActiveSessions(8).build());
    PoolException full = assertThrows(PoolException.class, () -> pool.place("u", UE, ""));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, full.status().getCode());
  }

  @Test
  void absurdLoadsAreRefusedAndCountedAndTheLastGoodLoadStays() throws PoolException {
    long t = join("e1");
    pool.report("e1", t, EdgeLoad.newBuilder().setEdgeId("e1").setActiveSessions(2).build());
    EdgeLoad[] bad = {
      EdgeLoad.newBuilder().setActiveSessions(-1).build(),
      EdgeLoad.newBuilder().setActiveSessions(1_000_000).build(),
      EdgeLoad.newBuilder().setKvBytes(-5).build(),
      EdgeLoad.newBuilder().setKvBytes(Long.MAX_VALUE).build(),
      EdgeLoad.newBuilder().setDecodeQueue(Double.NaN).build(),
      EdgeLoad.newBuilder().setDecodeQueue(Double.POSITIVE_INFINITY).build(),
      EdgeLoad.newBuilder().setDecodeQueue(-0.5).build(),
      EdgeLoad.newBuilder().setDecodeQueue(1e12).build()
    };
    for (EdgeLoad l : bad) {
      PoolException e = assertThrows(PoolException.class, () -> pool.report("e1", t, l));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.status().getCode(), l.toString());
    }
    assertEquals(bad.length, refusals("bad_load"));
    assertEquals(2, pool.view("").get(0).getLoad().getActiveSessions());
  }

  @Test
  void aSecondEdgeClaimingALiveIdIsRefusedTheSameEdgeRenews() throws PoolException {
    join("e1");
    PoolException e =
        assertThrows(PoolException.class, () -> pool.register(reg("e1", "impostor:50052")));
    assertEquals(Status.Code.ALREADY_EXISTS, e.status().getCode());
    assertEquals(1.0, refusals("duplicate_edge"));
    pool.register(reg("e1", "e1:50052")); // the same edge again: renewal
    assertEquals("e1:50052", pool.view("").get(0).getAddress());
  }

  @Test
  void heartbeatsOfUnregisteredEdgesAndBadCapacitiesAreRefused() {
    PoolException e = assertThrows(PoolException.class, () -> pool.open("ghost"));
    assertEquals(Status.Code.NOT_FOUND, e.status().getCode());
    EdgeRegistration zero =
        reg("e9", "e9:1").toBuilder()
            .setCapacity(EdgeCapacity.newBuilder().setMaxSessions(0).setKvBudgetBytes(1))
            .build();
    assertEquals(
        Status.Code.INVALID_ARGUMENT,
        assertThrows(PoolException.class, () -> pool.register(zero)).status().getCode());
    EdgeRegistration range =
        reg("e9", "e9:1").toBuilder()
            .setCapacity(reg("e9", "e9:1").getCapacity().toBuilder().setMaxSplit(40))
            .build();
    assertEquals(
        Status.Code.INVALID_ARGUMENT,
        assertThrows(PoolException.class, () -> pool.register(range)).status().getCode());
  }
}
