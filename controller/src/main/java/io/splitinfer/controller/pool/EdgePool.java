package io.splitinfer.controller.pool;

import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.splitinfer.proto.v1.EdgeAssignment;
import io.splitinfer.proto.v1.EdgeCapacity;
import io.splitinfer.proto.v1.EdgeLoad;
import io.splitinfer.proto.v1.EdgeRegistration;
import io.splitinfer.proto.v1.PoolEdge;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pool of edges: which edges are members, their declared capacity and last load, and which UEs
 * the controller placed on which edge. Placement itself is {@link Placement}'s.
 *
 * <p><b>Membership.</b> An edge registers (RegisterEdge with a capacity), then opens its heartbeat
 * stream ({@link #open}); from then until the stream ends ({@link #closed}: the edge stopped or
 * crashed, its connection dropped, or one of its reports was refused) or stays silent longer than
 * the TTL ({@link #expire}) it is a member and UEs may be placed on it. When it leaves, the UEs
 * placed on it lose their assignment (they fail over along their fallbacks, and the next placement
 * they ask for avoids the gone edge). A registration of an edge id that is a live member with a
 * different advertised address is refused (ALREADY_EXISTS): two processes claiming one id would
 * split its load reports; the same address re-registering (a controller that came back, an edge
 * that reconnected) renews it.
 *
 * <p>Every refusal is a {@link PoolException} with a specific status and counted in {@code
 * controller_pool_refusals_total{reason}}; removals in {@code controller_pool_removed_total{why}};
 * members in the gauge {@code controller_pool_edges}. Thread-safe (this object's monitor).
 */
public final class EdgePool {
  private static final Logger log = LoggerFactory.getLogger(EdgePool.class);

  private final Clock clock;
  private volatile Duration ttl;
  private final MeterRegistry metrics;
  private final Map<String, Member> members = new TreeMap<>();
  private final Map<String, String> placedOn = new HashMap<>(); // UE -> edge
  private final AtomicInteger gauge = new AtomicInteger();
  private long nextToken = 1;

  private static final class Member {
    EdgeRegistration reg;
    long token; // the heartbeat stream in force, 0 = none open
    EdgeLoad load = EdgeLoad.getDefaultInstance();
    long lastHeardMs;
    final Set<String> ues = new LinkedHashSet<>();
  }

  /**
   * @param ttl a member silent this long (no registration, no load report) leaves the pool
   */
  public EdgePool(Clock clock, Duration ttl, MeterRegistry metrics) {
    this.clock = clock;
    this.ttl = ttl;
    this.metrics = metrics;
    metrics.gauge("controller_pool_edges", gauge);
  }

  /** Changes the silence after which a member leaves (before serving). */
  public void ttl(Duration ttl) {
    this.ttl = ttl;
  }

  private PoolException refuse(String reason, Status.Code code, String description) {
    metrics.counter("controller_pool_refusals_total", "reason", reason).increment();
    return new PoolException(code, description);
  }

  /**
   * An edge (re-)registered. Without a capacity it is not a pool member (it predates the pool);
   * with one it becomes a member once its heartbeat stream opens.
   *
   * @throws PoolException INVALID_ARGUMENT for an unusable capacity, ALREADY_EXISTS when a live
   *     member has this id at another address
   */
  public synchronized void register(EdgeRegistration reg) throws PoolException {
    String bad = EdgeLoads.invalidCapacity(reg);
    if (bad != null) {
      throw refuse("bad_capacity", Status.Code.INVALID_ARGUMENT, bad);
    }
    Member m = members.get(reg.getEdgeId());
    if (m != null
        && m.token != 0
        && !m.reg.getAdvertisedAddress().equals(reg.getAdvertisedAddress())) {
      throw refuse(
          "duplicate_edge",
          Status.Code.ALREADY_EXISTS,
          "edge '"
              + reg.getEdgeId()
              + "' is in the pool at "
              + m.reg.getAdvertisedAddress()
              + " with a live heartbeat; "
              + reg.getAdvertisedAddress()
              + " cannot take its id");
    }
    if (!reg.hasCapacity()) {
      if (m != null) {
        remove(reg.getEdgeId(), "re-registered without a capacity");
      }
      return;
    }
    if (m == null) {
      m = new Member();
      members.put(reg.getEdgeId(), m);
    } else if (!m.reg.getModelId().equals(reg.getModelId())) {
      unplaceAll(m); // another model now: its UEs cannot stay
    }
    m.reg = reg;
    m.lastHeardMs = clock.millis();
    updateGauge();
  }

  /**
   * The heartbeat stream of {@code edgeId} opened; returns its token (a newer stream of the same
   * edge supersedes an older one, whose end then changes nothing).
   *
   * @throws PoolException NOT_FOUND for an edge that did not register with a capacity
   */
  public synchronized long open(String edgeId) throws PoolException {
    Member m = members.get(edgeId);
    if (m == null) {
      throw refuse(
          "unknown_edge",
          Status.Code.NOT_FOUND,
          "edge '" + edgeId + "' is not registered with a capacity; RegisterEdge first");
    }
    m.token = nextToken++;
    m.lastHeardMs = clock.millis();
    updateGauge();
    log.info("edge {} joined the pool ({})", edgeId, m.reg.getAdvertisedAddress());
    return m.token;
  }

  /**
   * A load report on stream {@code token}. Returns the UEs placed on the edge.
   *
   * @throws PoolException INVALID_ARGUMENT for a load outside the edge's declared capacity (the
   *     caller ends the stream, and the edge leaves the pool), NOT_FOUND when the stream is no
   *     longer the edge's (it expired or was superseded)
   */
  public synchronized int report(String edgeId, long token, EdgeLoad load) throws PoolException {
    Member m = members.get(edgeId);
    if (m == null || m.token != token) {
      throw refuse(
          "stale_stream",
          Status.Code.NOT_FOUND,
          "edge '" + edgeId + "' has no pool membership on this stream; register again");
    }
    String bad = EdgeLoads.invalidLoad(load, m.reg.getCapacity());
    if (bad != null) {
      throw refuse("bad_load", Status.Code.INVALID_ARGUMENT, "edge '" + edgeId + "': " + bad);
    }
    m.load = load;
    m.lastHeardMs = clock.millis();
    return m.ues.size();
  }

  /** Stream {@code token} of {@code edgeId} ended ({@code why}): the edge leaves the pool. */
  public synchronized void closed(String edgeId, long token, String why) {
    Member m = members.get(edgeId);
    if (m != null && m.token == token) {
      remove(edgeId, why);
    }
  }

  /** Removes members silent longer than the TTL (the decision cadence calls it). */
  public synchronized void expire() {
    long now = clock.millis();
    for (String id : new ArrayList<>(members.keySet())) {
      if (now - members.get(id).lastHeardMs > ttl.toMillis()) {
        remove(id, "silent for more than " + ttl.toMillis() + " ms");
      }
    }
  }

  private void remove(String edgeId, String why) {
    Member m = members.remove(edgeId);
    if (m == null) {
      return;
    }
    unplaceAll(m);
    metrics
        .counter("controller_pool_removed_total", "why", why.startsWith("silent") ? "silent" : why)
        .increment();
    updateGauge();
    log.warn("edge {} left the pool: {}", edgeId, why);
  }

  private void unplaceAll(Member m) {
    for (String ue : m.ues) {
      placedOn.remove(ue);
    }
    m.ues.clear();
  }

  private void updateGauge() {
    gauge.set((int) members.values().stream().filter(m -> m.token != 0).count());
  }

  /**
   * Places UE {@code ueId}: on {@code requiredEdge} when given, else on the least loaded member
   * that fits ({@link Placement}). Sticky: a UE already placed on a member that still fits stays
   * there.
   *
   * @throws PoolException NOT_FOUND for a required edge that is not a member, FAILED_PRECONDITION
   *     when it (or every member) does not serve the model and split range, RESOURCE_EXHAUSTED when
   *     every member that serves it is full
   */
  public synchronized EdgeAssignment place(
      String ueId, Placement.Request request, String requiredEdge) throws PoolException {
    List<Placement.Candidate> pool = candidates();
    List<Placement.Candidate> ranked = Placement.rank(pool, request);
    Placement.Candidate chosen;
    String detail;
    if (!requiredEdge.isBlank()) {
      Placement.Candidate c =
          pool.stream().filter(x -> x.edgeId().equals(requiredEdge)).findFirst().orElse(null);
      if (c == null) {
        throw refuse(
            "bogus_edge",
            Status.Code.NOT_FOUND,
            "edge '" + requiredEdge + "' is not in the pool (" + pool.size() + " members)");
      }
      if (!Placement.serves(c, request)) {
        throw refuse(
            "edge_does_not_fit",
            Status.Code.FAILED_PRECONDITION,
            "edge '"
                + requiredEdge
                + "' serves model "
                + c.modelId()
                + " splits "
                + c.minSplit()
                + ".."
                + c.maxSplit()
                + ", the UE needs "
                + request.modelId()
                + " splits "
                + request.minSplit()
                + ".."
                + request.maxSplit());
      }
      chosen = c;
      detail = "asked for by the UE; " + Placement.describe(c);
    } else {
      String current = placedOn.get(ueId);
      Placement.Candidate stay =
          ranked.stream().filter(c -> c.edgeId().equals(current)).findFirst().orElse(null);
      if (stay != null) {
        chosen = stay;
        detail = "kept; " + Placement.describe(stay);
      } else if (!ranked.isEmpty()) {
        chosen = ranked.get(0);
        detail = "least loaded of " + ranked.size() + "; " + Placement.describe(chosen);
      } else if (Placement.miss(pool, request) == Placement.Miss.ALL_FULL) {
        throw refuse(
            "pool_full",
            Status.Code.RESOURCE_EXHAUSTED,
            "every edge that serves model " + request.modelId() + " is full");
      } else {
        throw refuse(
            "no_edge_serves",
            Status.Code.FAILED_PRECONDITION,
            "no edge in the pool ("
                + pool.size()
                + " members) serves model "
                + request.modelId()
                + " with splits "
                + request.minSplit()
                + ".."
                + request.maxSplit());
      }
    }
    unplace(ueId);
    members.get(chosen.edgeId()).ues.add(ueId);
    placedOn.put(ueId, chosen.edgeId());
    metrics.counter("controller_pool_placements_total").increment();
    EdgeAssignment.Builder a =
        EdgeAssignment.newBuilder()
            .setEdgeId(chosen.edgeId())
            .setAddress(chosen.address())
            .setDetail(detail);
    for (Placement.Candidate c : ranked) {
      if (!c.edgeId().equals(chosen.edgeId())) {
        a.addFallbackAddresses(c.address());
      }
    }
    return a.build();
  }

  /** Forgets UE {@code ueId}'s placement (it expired or was refused). */
  public synchronized void unplace(String ueId) {
    String edge = placedOn.remove(ueId);
    if (edge != null && members.containsKey(edge)) {
      members.get(edge).ues.remove(ueId);
    }
  }

  /** The last load report of edge {@code edgeId}, or null (not in the pool, or no report yet). */
  public synchronized EdgeLoad load(String edgeId) {
    Member m = edgeId == null ? null : members.get(edgeId);
    return m == null || m.lastHeardMs == 0 || m.token == 0 ? null : m.load;
  }

  /** The edge {@code ueId} is placed on, or null. */
  public synchronized String placement(String ueId) {
    return placedOn.get(ueId);
  }

  private List<Placement.Candidate> candidates() {
    List<Placement.Candidate> out = new ArrayList<>();
    for (Map.Entry<String, Member> e : members.entrySet()) {
      Member m = e.getValue();
      if (m.token == 0) {
        continue; // registered, heartbeat not open (yet)
      }
      out.add(candidate(e.getKey(), m));
    }
    return out;
  }

  private static Placement.Candidate candidate(String id, Member m) {
    EdgeCapacity c = m.reg.getCapacity();
    return new Placement.Candidate(
        id,
        m.reg.getAdvertisedAddress(),
        m.reg.getModelId(),
        c.getMinSplit(),
        c.getMaxSplit(),
        c.getMaxSessions(),
        c.getKvBudgetBytes(),
        m.load.getActiveSessions(),
        m.load.getKvBytes(),
        m.load.getDecodeQueue(),
        m.ues.size());
  }

  /** The members (with {@code ueId}: only the one it is placed on, possibly none). */
  public synchronized List<PoolEdge> view(String ueId) {
    List<PoolEdge> out = new ArrayList<>();
    for (Map.Entry<String, Member> e : members.entrySet()) {
      Member m = e.getValue();
      if (!ueId.isBlank() && !m.ues.contains(ueId)) {
        continue;
      }
      out.add(
          PoolEdge.newBuilder()
              .setEdgeId(e.getKey())
              .setAddress(m.reg.getAdvertisedAddress())
              .setModelId(m.reg.getModelId())
              .setCapacity(m.reg.getCapacity())
              .setLoad(m.load)
              .addAllUeIds(m.ues)
              .setLastHeardUnixMs(m.lastHeardMs)
              .setScore(Placement.occupancy(candidate(e.getKey(), m)))
              .build());
    }
    return out;
  }

  /** Members with an open heartbeat (tests and tools). */
  public synchronized int size() {
    return gauge.get();
  }
}
