package io.splitinfer.controller.service;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.MeterRegistry;
import io.splitinfer.controller.pool.EdgeHeartbeats;
import io.splitinfer.controller.pool.EdgePool;
import io.splitinfer.controller.pool.Placement;
import io.splitinfer.controller.pool.PoolException;
import io.splitinfer.controller.store.ControllerJournal;
import io.splitinfer.controller.store.ControllerStore;
import io.splitinfer.core.channel.ChannelState;
import io.splitinfer.core.objective.WeightFormatCost;
import io.splitinfer.core.security.Authz;
import io.splitinfer.core.security.Identity;
import io.splitinfer.core.security.Role;
import io.splitinfer.proto.v1.ChannelReport;
import io.splitinfer.proto.v1.ChannelReportSource;
import io.splitinfer.proto.v1.DecisionReason;
import io.splitinfer.proto.v1.EdgeAssignment;
import io.splitinfer.proto.v1.EdgeLoad;
import io.splitinfer.proto.v1.EdgeLoadAck;
import io.splitinfer.proto.v1.EdgeRegistration;
import io.splitinfer.proto.v1.FloorStatus;
import io.splitinfer.proto.v1.GetFloorRequest;
import io.splitinfer.proto.v1.GetPolicyRequest;
import io.splitinfer.proto.v1.GetPoolRequest;
import io.splitinfer.proto.v1.GetSplitRequest;
import io.splitinfer.proto.v1.OverrideRequest;
import io.splitinfer.proto.v1.PolicyStatus;
import io.splitinfer.proto.v1.Registered;
import io.splitinfer.proto.v1.ReportAck;
import io.splitinfer.proto.v1.SetFloorRequest;
import io.splitinfer.proto.v1.SetPolicyRequest;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import io.splitinfer.proto.v1.WatchSplitRequest;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SplitController service: registers UEs and edges, keeps each UE's channel state, runs the
 * policy on a cadence ({@link #decisionTick}) or when the state in force changes, commits changes
 * through {@link Hysteresis}, and pushes every decision with a strictly increasing epoch to the
 * UE's watchers and to the watchers of its edge ({@link DecisionWatcher}: flow-controlled,
 * latest-per-UE when a watcher is slow).
 *
 * <p><b>Channel state</b> (core {@code ChannelState}: σ and P, σ_h stated at h_th = 1). Which
 * reports drive decisions is fixed at start by the {@link ChannelSource}: {@code ESTIMATE} (the
 * default) fuses the edge's evidence increments per UE ({@link ChannelFusion}: exponentially
 * weighted P with a 95 % Wilson interval, pooled σ) and acts only when the estimate moved beyond
 * the hysteresis with enough evidence; {@code CHANNEL_SIM} acts on channel-sim's ground truth (an
 * oracle, for evaluation). Reports of the other kind are counted ({@code
 * controller_channel_reports_total{used="false"}}) and the truth is kept for logs; the two are
 * never mixed. A report without evidence declares a state outright; without {@code ue_id} it
 * declares it for every UE (and for UEs that register later).
 *
 * <p><b>Privacy floor</b> ({@link PrivacyFloor}): no decision puts a UE below the floor in force
 * (the operator's, from {@code SetFloor}, or the UE's own, from its registration); when the floor
 * raised what the policy wanted, the decision's reason is {@code DECISION_REASON_PRIVACY_FLOOR}.
 *
 * <p><b>Epochs</b> are {@code max(previous + 1, now in ms)}, previous being the newest epoch of any
 * UE, so they grow strictly across UEs and across controller restarts. All state is guarded by this
 * object's monitor; calls are short.
 *
 * <p><b>Persistence</b>: registrations, committed decisions and the policy choice go to a {@link
 * ControllerJournal} (the records database, {@code store/ControllerStore}); {@link #restore} loads
 * them back before a restarted controller serves, so "previous" above is the last epoch ever
 * committed, not only this process' last. Channel state and hysteresis counters are not kept: they
 * are rebuilt from fresh evidence.
 */
public final class SplitControllerService extends SplitControllerGrpc.SplitControllerImplBase {
  private static final Logger log = LoggerFactory.getLogger(SplitControllerService.class);

  private final PolicyFactory factory;
  private final Hysteresis hysteresis;
  private final int initialSplit;
  private final Clock clock;
  private final MeterRegistry metrics;
  private final ChannelSource source;
  private final ChannelFusion.Config fusion;
  private final Map<String, Ue> ues = new LinkedHashMap<>();
  private final Map<String, EdgeRegistration> edges = new HashMap<>();
  private final DecisionWatchers watchers;
  private final AtomicInteger ueGauge = new AtomicInteger();
  private final PrivacyFloor privacy = new PrivacyFloor();
  private final PolicyFormatGate formatGate;
  private final EdgePool pool;
  private SplitPolicy policy;
  private ControllerJournal journal = ControllerJournal.NONE;
  private long lastEpoch; // newest epoch committed for any UE (restored ones included)
  private Authz authz = Authz.off();
  private RegistrationLimits limits = RegistrationLimits.defaults();
  private ChannelState declaredForAll;
  private ChannelState truth;

  private final class Ue {
    UeRegistration reg;
    int minSplit;
    int maxSplit;
    SplitDecision decision;
    boolean pinned;
    final ChannelFusion channel = new ChannelFusion(fusion);
    final Set<Integer> left = new HashSet<>(); // splits left under the state in force
    int pendingSplit = -1;
    int pendingCount;
    long lastChangeMs = Long.MIN_VALUE / 2;
    PrivacyFloor.Floor ownFloor = PrivacyFloor.Floor.NONE;
    int wanted = -1; // the policy's proposal before the privacy floor, for the commit's reason
    long lastSeenMs;
    String weightFormat = WeightFormatCost.DEFAULT; // canonical, from the registration
    SplitPolicy refusedPolicy; // the policy whose format refusal was last logged and counted
  }

  /** Acts on receiver estimates with the default fusion settings. */
  public SplitControllerService(
      SplitPolicy policy,
      PolicyFactory factory,
      Hysteresis hysteresis,
      int initialSplit,
      Clock clock,
      MeterRegistry metrics) {
    this(
        policy,
        factory,
        hysteresis,
        initialSplit,
        clock,
        metrics,
        ChannelSource.ESTIMATE,
        ChannelFusion.Config.defaults());
  }

  /**
   * @param policy the policy in force at start
   * @param factory builds policies for SetPolicy
   * @param initialSplit split of a newly registered UE (−1: middle of its range)
   * @param source which channel state drives decisions
   * @param fusion how a UE's evidence is fused
   */
  public SplitControllerService(
      SplitPolicy policy,
      PolicyFactory factory,
      Hysteresis hysteresis,
      int initialSplit,
      Clock clock,
      MeterRegistry metrics,
      ChannelSource source,
      ChannelFusion.Config fusion) {
    this.policy = policy;
    this.factory = factory;
    this.hysteresis = hysteresis;
    this.initialSplit = initialSplit;
    this.clock = clock;
    this.metrics = metrics;
    this.source = source;
    this.fusion = fusion;
    this.formatGate = new PolicyFormatGate(metrics);
    this.watchers =
        new DecisionWatchers(
            () -> metrics.counter("controller_decisions_superseded_total").increment());
    metrics.gauge("controller_ues", ueGauge);
    this.pool = new EdgePool(clock, Duration.ofSeconds(5), metrics);
  }

  /** The pool of edges (placement of UEs; pool/EdgePool). */
  public EdgePool pool() {
    return pool;
  }

  public ChannelSource channelSource() {
    return source;
  }

  /**
   * Loads the state a previous controller left ({@code snapshot}: UEs with their decision in force,
   * pins included, and edges) and writes every later change to {@code journal}. Call before
   * serving. The policy choice in the snapshot is the caller's to apply (it builds the policy).
   */
  public synchronized void restore(ControllerStore.Snapshot snapshot, ControllerJournal journal) {
    this.journal = journal;
    for (ControllerStore.UeState st : snapshot.ues()) {
      Ue u = new Ue();
      u.reg = st.registration();
      u.weightFormat = PolicyFormatGate.storedFormat(u.reg.getWeightFormat());
      u.minSplit = st.minSplit();
      u.maxSplit = st.maxSplit();
      u.decision = st.decision();
      u.pinned = st.decision().getPinned();
      u.lastChangeMs = st.decision().getDecidedAtUnixMs();
      u.lastSeenMs = clock.millis(); // the registration TTL starts again at the restart
      lastEpoch = Math.max(lastEpoch, st.decision().getEpoch());
      ues.put(u.reg.getUeId(), u);
    }
    for (EdgeRegistration e : snapshot.edges()) {
      edges.put(e.getEdgeId(), e);
    }
    ueGauge.set(ues.size());
    log.info("restored {} UEs and {} edges", ues.size(), edges.size());
  }

  /**
   * Who may call what ({@code authz}: enforcing when the server authenticates callers) and the
   * bounds of the UE registry. Call before the server starts. Roles: OPERATOR pins, unpins, sets
   * the policy and may act for any UE; a UE acts only on its own {@code ue_id} (register, get,
   * watch, report); EDGE registers edges, watches by edge and sends pilot reports; CHANNEL_SIM
   * sends ground truth. Refusals are UNAUTHENTICATED / PERMISSION_DENIED, counted in {@code
   * auth_refusals}, and change nothing.
   */
  public synchronized SplitControllerService secure(Authz authz, RegistrationLimits limits) {
    this.authz = authz;
    this.limits = limits;
    return this;
  }

  /** Registered UEs (tests and tools). */
  public synchronized int registeredUes() {
    return ues.size();
  }

  /** Runs {@code check}; on a refusal sends it to {@code out} and returns false. */
  private static boolean allowed(StreamObserver<?> out, Runnable check) {
    try {
      check.run();
      return true;
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return false;
    }
  }

  /** A UE acting on itself, an operator, or a service role among {@code services}. */
  private void requireUeOr(String ueId, Role... services) {
    Identity id = Identity.current();
    for (Role r : services) {
      if (id.has(r)) {
        return;
      }
    }
    authz.requireUe(ueId);
  }

  // ---- registration ----

  @Override
  public void registerUe(UeRegistration req, StreamObserver<Registered> out) {
    if (!allowed(out, () -> authz.requireUe(req.getUeId()))) {
      return;
    }
    if (req.getUeId().isBlank() || req.getNumLayers() < 1) {
      out.onError(
          Status.INVALID_ARGUMENT
              .withDescription("ue_id and num_layers are required")
              .asException());
      return;
    }
    int min = req.getMinSplit();
    int max = req.getMaxSplit();
    if (min == 0 && max == 0) {
      min = Math.min(1, req.getNumLayers());
      max = Math.max(min, req.getNumLayers() - 1);
    }
    if (min < 0 || max > req.getNumLayers() || min > max) {
      out.onError(
          Status.INVALID_ARGUMENT
              .withDescription(
                  "need 0 <= min_split <= max_split <= num_layers, got "
                      + min
                      + ".."
                      + max
                      + " of "
                      + req.getNumLayers())
              .asException());
      return;
    }
    String format;
    try {
      format = WeightFormatCost.canonical(req.getWeightFormat());
    } catch (IllegalArgumentException e) {
      metrics.counter("controller_bad_requests_total", "rpc", "RegisterUe").increment();
      out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asException());
      return;
    }
    PrivacyFloor.Floor own;
    try {
      own =
          privacy.resolve(
              req.getPrivacyMinSplit(),
              req.hasPrivacyMaxRecovery() ? req.getPrivacyMaxRecovery() : null,
              req.getNumLayers(),
              "UE");
    } catch (IllegalArgumentException | IllegalStateException e) {
      metrics.counter("controller_bad_requests_total", "rpc", "RegisterUe").increment();
      out.onError(
          (e instanceof IllegalStateException
                  ? Status.FAILED_PRECONDITION
                  : Status.INVALID_ARGUMENT)
              .withDescription(e.getMessage())
              .asException());
      return;
    }
    if (privacy.floorFor(req.getUeId(), own).minSplit() > max) {
      out.onError(
          Status.FAILED_PRECONDITION
              .withDescription(
                  "privacy floor p >= "
                      + privacy.floorFor(req.getUeId(), own).minSplit()
                      + " is above the UE's max_split "
                      + max)
              .asException());
      return;
    }
    EdgeAssignment assignment = null;
    if (req.hasPlacement()) {
      try {
        assignment =
            pool.place(
                req.getUeId(),
                new Placement.Request(req.getModelId(), min, max),
                req.getPlacement().getEdgeId());
      } catch (PoolException e) {
        out.onError(e.status().asException());
        return;
      }
    }
    SplitDecision d;
    synchronized (this) {
      Ue u = ues.get(req.getUeId());
      boolean fresh = u == null;
      if (fresh && ues.size() >= limits.maxUes()) {
        expireIdle();
      }
      if (fresh && ues.size() >= limits.maxUes()) {
        metrics.counter("controller_registrations_refused_total", "reason", "cap").increment();
        pool.unplace(req.getUeId());
        out.onError(
            Status.RESOURCE_EXHAUSTED
                .withDescription(
                    "the controller holds its cap of " + limits.maxUes() + " registered UEs")
                .asException());
        return;
      }
      if (fresh) {
        u = new Ue();
        ues.put(req.getUeId(), u);
        ueGauge.set(ues.size());
        if (declaredForAll != null) {
          u.channel.declare(declaredForAll);
        }
      }
      u.reg = req;
      if (!format.equals(u.weightFormat)) {
        u.refusedPolicy = null; // a new format: a refusal is news again
      }
      u.weightFormat = format;
      u.lastSeenMs = clock.millis();
      u.minSplit = min;
      u.maxSplit = max;
      u.ownFloor = own;
      int floor = floorOf(u).minSplit();
      if (fresh
          || u.decision.getSplit() < min
          || u.decision.getSplit() > max
          || u.decision.getSplit() < floor) {
        int split = initialSplit < 0 ? (min + max) / 2 : Policies.clamp(initialSplit, min, max);
        u.wanted = split;
        commit(
            u,
            PrivacyFloor.bind(split, floor),
            DecisionReason.DECISION_REASON_INITIAL,
            "registered" + formatRefusal(u));
      }
      d = u.decision;
      journal.ue(req, min, max, clock.millis());
    }
    log.info(
        "UE {} registered (layers {}, splits {}..{})", req.getUeId(), req.getNumLayers(), min, max);
    Registered.Builder answer = Registered.newBuilder().setId(req.getUeId()).setDecision(d);
    if (assignment != null) {
      answer.setAssignment(assignment);
      log.info(
          "UE {} placed on edge {} ({})",
          req.getUeId(),
          assignment.getEdgeId(),
          assignment.getDetail());
    }
    out.onNext(answer.build());
    out.onCompleted();
  }

  @Override
  public void registerEdge(EdgeRegistration req, StreamObserver<Registered> out) {
    if (!allowed(out, () -> authz.require(Role.EDGE, Role.OPERATOR))) {
      return;
    }
    if (req.getEdgeId().isBlank()) {
      out.onError(Status.INVALID_ARGUMENT.withDescription("edge_id is required").asException());
      return;
    }
    try {
      pool.register(req);
    } catch (PoolException e) {
      out.onError(e.status().asException());
      return;
    }
    synchronized (this) {
      edges.put(req.getEdgeId(), req);
      journal.edge(req, clock.millis());
    }
    out.onNext(Registered.newBuilder().setId(req.getEdgeId()).build());
    out.onCompleted();
  }

  // ---- edge pool ----

  @Override
  public StreamObserver<EdgeLoad> edgeHeartbeat(StreamObserver<EdgeLoadAck> out) {
    try {
      authz.require(Role.EDGE, Role.OPERATOR);
    } catch (StatusRuntimeException e) {
      out.onError(e);
      return new StreamObserver<>() {
        @Override
        public void onNext(EdgeLoad value) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onCompleted() {}
      };
    }
    return new EdgeHeartbeats(pool, out);
  }

  @Override
  public void getPool(GetPoolRequest req, StreamObserver<io.splitinfer.proto.v1.EdgePool> out) {
    if (!allowed(
        out,
        () -> {
          if (req.getUeId().isBlank()) {
            authz.require(Role.OPERATOR, Role.CONTROLLER, Role.EDGE);
          } else {
            requireUeOr(req.getUeId(), Role.EDGE, Role.CONTROLLER);
          }
        })) {
      return;
    }
    synchronized (this) {
      if (!req.getUeId().isBlank() && !ues.containsKey(req.getUeId())) {
        out.onError(notFound(req.getUeId()));
        return;
      }
    }
    out.onNext(
        io.splitinfer.proto.v1.EdgePool.newBuilder().addAllEdges(pool.view(req.getUeId())).build());
    out.onCompleted();
  }

  // ---- reads and watches ----

  @Override
  public void getSplit(GetSplitRequest req, StreamObserver<SplitDecision> out) {
    if (!allowed(out, () -> requireUeOr(req.getUeId(), Role.EDGE, Role.CONTROLLER))) {
      return;
    }
    SplitDecision d;
    synchronized (this) {
      Ue u = ues.get(req.getUeId());
      if (u != null) {
        u.lastSeenMs = clock.millis();
      }
      d = u == null ? null : u.decision;
    }
    if (d == null) {
      out.onError(notFound(req.getUeId()));
      return;
    }
    out.onNext(d);
    out.onCompleted();
  }

  @Override
  public void watchSplit(WatchSplitRequest req, StreamObserver<SplitDecision> out) {
    boolean byUe = !req.getUeId().isBlank();
    if (!allowed(
        out,
        () -> {
          if (byUe) {
            requireUeOr(req.getUeId(), Role.EDGE, Role.CONTROLLER);
          } else {
            authz.require(Role.EDGE, Role.OPERATOR, Role.CONTROLLER);
          }
        })) {
      return;
    }
    if (!byUe && req.getEdgeId().isBlank()) {
      out.onError(
          Status.INVALID_ARGUMENT.withDescription("ue_id or edge_id is required").asException());
      return;
    }
    synchronized (this) {
      List<SplitDecision> current = new ArrayList<>();
      if (byUe) {
        Ue u = ues.get(req.getUeId());
        if (u == null) {
          out.onError(notFound(req.getUeId()));
          return;
        }
        current.add(u.decision);
      } else {
        for (Ue u : ues.values()) {
          if (u.reg.getEdgeId().equals(req.getEdgeId())) {
            current.add(u.decision);
          }
        }
      }
      // sent under the lock so no newer decision can overtake the current one
      watchers.add(byUe, byUe ? req.getUeId() : req.getEdgeId(), out, current);
    }
  }

  // ---- channel state ----

  @Override
  public void reportChannel(ChannelReport req, StreamObserver<ReportAck> out) {
    if (!allowed(
        out,
        () -> {
          switch (req.getSource()) {
            case CHANNEL_REPORT_SOURCE_UE -> authz.requireUe(req.getUeId());
            case CHANNEL_REPORT_SOURCE_EDGE_PILOT -> authz.require(Role.EDGE, Role.OPERATOR);
            case CHANNEL_REPORT_SOURCE_CHANNEL_SIM ->
                authz.require(Role.CHANNEL_SIM, Role.OPERATOR);
            default -> authz.require(Role.OPERATOR);
          }
        })) {
      return;
    }
    String bad = ChannelReports.invalid(req);
    if (bad != null) {
      metrics.counter("controller_rejected_reports_total").increment();
      out.onError(Status.INVALID_ARGUMENT.withDescription(bad).asException());
      return;
    }
    boolean used = source.accepts(req.getSource());
    metrics
        .counter(
            "controller_channel_reports_total",
            "source",
            req.getSource().name(),
            "used",
            String.valueOf(used))
        .increment();
    long epoch = 0;
    synchronized (this) {
      Ue u = req.getUeId().isBlank() ? null : ues.get(req.getUeId());
      if (!req.getUeId().isBlank() && u == null) {
        out.onError(notFound(req.getUeId()));
        return;
      }
      if (u != null) {
        u.lastSeenMs = clock.millis();
      }
      if (req.getPacketsSeen() > 0) {
        if (used) {
          u.channel.add(ChannelReports.evidence(req), clock.millis(), hysteresis.sigmaDelta());
          if (u.channel.maybeAct(hysteresis)) {
            stateChanged(u);
          }
        }
      } else {
        ChannelState declared =
            ChannelState.declared(req.getSigma(), ChannelReports.declaredLoss(req));
        if (!used) {
          if (req.getSource() == ChannelReportSource.CHANNEL_REPORT_SOURCE_CHANNEL_SIM) {
            truth = declared;
          }
        } else if (u == null) {
          declareForAll(declared);
        } else {
          u.channel.declare(declared);
          stateChanged(u);
        }
      }
      if (u != null) {
        epoch = u.decision.getEpoch();
      }
    }
    out.onNext(ReportAck.newBuilder().setEpoch(epoch).build());
    out.onCompleted();
  }

  /**
   * channel-sim's ground truth (the watch stream). Under {@link ChannelSource#CHANNEL_SIM} it is
   * declared for every UE when it changed; otherwise it is only kept for logs.
   */
  public synchronized void observeTruth(ChannelState t) {
    ChannelState before = truth;
    truth = t;
    if (source == ChannelSource.CHANNEL_SIM && !sameValues(before, t)) {
      declareForAll(t);
    }
  }

  private static boolean sameValues(ChannelState a, ChannelState b) {
    return a != null
        && b != null
        && Double.compare(a.sigma(), b.sigma()) == 0
        && Double.compare(a.loss(), b.loss()) == 0;
  }

  private void declareForAll(ChannelState s) {
    declaredForAll = s;
    for (Ue u : ues.values()) {
      u.channel.declare(s);
      stateChanged(u);
    }
  }

  /** The state in force of a UE (null when it has none), for tests and tools. */
  public synchronized ChannelState channelInForce(String ueId) {
    Ue u = ues.get(ueId);
    return u == null ? null : u.channel.inForce();
  }

  private void stateChanged(Ue u) {
    ChannelState c = u.channel.inForce();
    metrics.counter("controller_channel_state_changes_total").increment();
    log.info(
        "UE {} channel state in force ({}): sigma {} P {} sigma_h {} from {} packets, P 95% CI"
            + " [{}, {}]{}",
        u.reg.getUeId(),
        source.flag(),
        fmt(c.sigma()),
        fmt(c.loss()),
        fmt(c.sigmaH()),
        Math.round(u.channel.effectivePackets()),
        fmt(u.channel.lossInterval().low()),
        fmt(u.channel.lossInterval().high()),
        truth == null
            ? ""
            : " (truth sigma " + fmt(truth.sigma()) + " P " + fmt(truth.loss()) + ")");
    u.left.clear();
    evaluate(u);
  }

  private static String fmt(double v) {
    return String.format(java.util.Locale.ROOT, "%.4f", v);
  }

  // ---- operator ----

  @Override
  public void override(OverrideRequest req, StreamObserver<SplitDecision> out) {
    if (!allowed(out, () -> authz.require(Role.OPERATOR))) {
      return;
    }
    SplitDecision d;
    synchronized (this) {
      Ue u = ues.get(req.getUeId());
      if (u == null) {
        out.onError(notFound(req.getUeId()));
        return;
      }
      if (req.getPin()) {
        if (req.getSplit() < floorOf(u).minSplit()) {
          out.onError(
              Status.FAILED_PRECONDITION
                  .withDescription(
                      "split "
                          + req.getSplit()
                          + " is below the privacy floor ("
                          + floorOf(u).detail()
                          + ")")
                  .asException());
          return;
        }
        if (req.getSplit() < u.minSplit || req.getSplit() > u.maxSplit) {
          out.onError(
              Status.INVALID_ARGUMENT
                  .withDescription(
                      "split " + req.getSplit() + " outside " + u.minSplit + ".." + u.maxSplit)
                  .asException());
          return;
        }
        u.pinned = true;
        commit(
            u, req.getSplit(), DecisionReason.DECISION_REASON_OPERATOR_PIN, "pinned by operator");
      } else {
        u.pinned = false;
        ChannelState c = u.channel.inForce();
        int split = c == null ? u.decision.getSplit() : propose(u, c);
        u.left.clear();
        commit(
            u,
            split,
            DecisionReason.DECISION_REASON_OPERATOR_UNPIN,
            "unpinned by operator" + formatRefusal(u));
      }
      d = u.decision;
    }
    out.onNext(d);
    out.onCompleted();
  }

  @Override
  public void setPolicy(SetPolicyRequest req, StreamObserver<PolicyStatus> out) {
    if (!allowed(out, () -> authz.require(Role.OPERATOR))) {
      return;
    }
    SplitPolicy next;
    try {
      next = factory.forRequest(req.getPolicy(), req.getCheckpoint());
    } catch (IllegalArgumentException e) {
      out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asException());
      return;
    } catch (UncheckedIOException e) {
      out.onError(Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asException());
      return;
    }
    synchronized (this) {
      policy = next;
      journal.policy(req.getPolicy(), req.getCheckpoint(), clock.millis());
      for (Ue u : ues.values()) {
        if (u.pinned) {
          continue;
        }
        ChannelState c = u.channel.inForce();
        int split = c == null ? u.decision.getSplit() : propose(u, c);
        u.left.clear();
        commit(
            u,
            split,
            DecisionReason.DECISION_REASON_POLICY_CHANGED,
            "policy " + next.name() + formatRefusal(u));
      }
    }
    log.info("policy set to {} {}", next.name(), next.checkpoint());
    out.onNext(status());
    out.onCompleted();
  }

  @Override
  public void getPolicy(GetPolicyRequest req, StreamObserver<PolicyStatus> out) {
    if (!allowed(out, () -> authz.require(Role.values()))) {
      return;
    }
    out.onNext(status());
    out.onCompleted();
  }

  public synchronized PolicyStatus status() {
    return PolicyStatus.newBuilder()
        .setPolicy(policy.name())
        .setCheckpoint(policy.checkpoint())
        .setWeightFormat(policy.weightFormat())
        .addAllAvailable(PolicyFactory.AVAILABLE)
        .build();
  }

  // ---- privacy floor ----

  @Override
  public void setFloor(SetFloorRequest req, StreamObserver<FloorStatus> out) {
    FloorStatus st;
    synchronized (this) {
      Ue target = req.getUeId().isBlank() ? null : ues.get(req.getUeId());
      if (!req.getUeId().isBlank() && target == null) {
        out.onError(notFound(req.getUeId()));
        return;
      }
      PrivacyFloor.Floor f;
      try {
        int layers = target == null ? 0 : target.reg.getNumLayers();
        String who = target == null ? "operator default" : "operator";
        f =
            privacy.resolve(
                req.getMinSplit(), req.hasMaxRecovery() ? req.getMaxRecovery() : null, layers, who);
      } catch (IllegalArgumentException | IllegalStateException e) {
        metrics.counter("controller_bad_requests_total", "rpc", "SetFloor").increment();
        out.onError(
            (e instanceof IllegalStateException
                    ? Status.FAILED_PRECONDITION
                    : Status.INVALID_ARGUMENT)
                .withDescription(e.getMessage())
                .asException());
        return;
      }
      for (Ue u : ues.values()) {
        if ((target == null || u == target)
            && Math.max(f.minSplit(), u.ownFloor.minSplit()) > u.maxSplit) {
          out.onError(
              Status.FAILED_PRECONDITION
                  .withDescription(
                      "floor p >= "
                          + f.minSplit()
                          + " is above UE "
                          + u.reg.getUeId()
                          + "'s max_split "
                          + u.maxSplit)
                  .asException());
          return;
        }
      }
      privacy.setOperator(req.getUeId(), f);
      for (Ue u : ues.values()) {
        PrivacyFloor.Floor now = floorOf(u);
        if (u.decision.getSplit() < now.minSplit()) {
          u.wanted = u.decision.getSplit();
          commit(u, now.minSplit(), DecisionReason.DECISION_REASON_PRIVACY_FLOOR, "floor raised");
        }
      }
      st = floorStatus(req.getUeId());
    }
    log.info("privacy floor {}: {}", req.getUeId().isBlank() ? "default" : req.getUeId(), st);
    out.onNext(st);
    out.onCompleted();
  }

  @Override
  public void getFloor(GetFloorRequest req, StreamObserver<FloorStatus> out) {
    FloorStatus st;
    synchronized (this) {
      if (!req.getUeId().isBlank() && !ues.containsKey(req.getUeId())) {
        out.onError(notFound(req.getUeId()));
        return;
      }
      st = floorStatus(req.getUeId());
    }
    out.onNext(st);
    out.onCompleted();
  }

  private FloorStatus floorStatus(String ueId) {
    PrivacyFloor.Floor op = privacy.operatorFloor(ueId);
    Ue u = ueId.isBlank() ? null : ues.get(ueId);
    PrivacyFloor.Floor own = u == null ? PrivacyFloor.Floor.NONE : u.ownFloor;
    PrivacyFloor.Floor in = privacy.floorFor(ueId, own);
    return FloorStatus.newBuilder()
        .setUeId(ueId)
        .setMinSplit(in.minSplit())
        .setOperatorMinSplit(op.minSplit())
        .setUeMinSplit(own.minSplit())
        .setDetail(in.detail())
        .setTable(PrivacyFloor.TABLE_RESOURCE)
        .build();
  }

  // ---- decisions ----

  /**
   * The decision cadence: runs the policy for every UE. A failure (of one UE's evaluation or a
   * watcher) is logged and counted ({@code controller_decision_failures_total}) and never stops the
   * cadence or the other UEs.
   */
  public synchronized void decisionTick() {
    pool.expire();
    expireIdle();
    for (Ue u : ues.values()) {
      try {
        evaluate(u);
      } catch (RuntimeException e) {
        metrics.counter("controller_decision_failures_total").increment();
        log.warn("decision for UE {} failed", u.reg.getUeId(), e);
      }
    }
  }

  /** Forgets UEs idle longer than the registration TTL that nobody watches. */
  private void expireIdle() {
    long now = clock.millis();
    int before = ues.size();
    ues.values()
        .removeIf(
            u -> {
              boolean idle =
                  now - u.lastSeenMs > limits.ttl().toMillis()
                      && !watchers.watched(u.reg.getUeId());
              if (idle) {
                pool.unplace(u.reg.getUeId());
              }
              return idle;
            });
    if (ues.size() < before) {
      metrics.counter("controller_ues_expired_total").increment(before - ues.size());
      ueGauge.set(ues.size());
    }
  }

  /** As {@link #decisionTick}. */
  public void evaluateAll() {
    decisionTick();
  }

  private int propose(Ue u, ChannelState c) {
    if (!formatMatches(u)) {
      // the policy was trained for another weight format: hold the split in force (documented)
      formatRefusal(u);
      u.wanted = -1;
      return u.decision.getSplit();
    }
    int p = policy.propose(c.sigma(), c.sigmaH(), u.decision.getSplit(), u.minSplit, u.maxSplit);
    u.wanted = Policies.clamp(p, u.minSplit, u.maxSplit);
    return PrivacyFloor.bind(u.wanted, floorOf(u).minSplit());
  }

  /** Whether the policy in force may decide for {@code u} ({@link PolicyFormatGate}). */
  private boolean formatMatches(Ue u) {
    return PolicyFormatGate.matches(policy, u.weightFormat);
  }

  /** "" or the refusal note for u's decision; logged and counted once per UE and policy. */
  private String formatRefusal(Ue u) {
    if (formatMatches(u)) {
      return "";
    }
    boolean first = u.refusedPolicy != policy;
    u.refusedPolicy = policy;
    return formatGate.refusal(
        policy,
        u.reg.getUeId(),
        u.weightFormat,
        u.decision == null ? -1 : u.decision.getSplit(),
        first);
  }

  private PrivacyFloor.Floor floorOf(Ue u) {
    return privacy.floorFor(u.reg.getUeId(), u.ownFloor);
  }

  private void evaluate(Ue u) {
    ChannelState c = u.channel.inForce();
    if (u.pinned || c == null || Double.isNaN(c.sigma())) {
      return;
    }
    int proposal = propose(u, c);
    if (proposal == u.decision.getSplit() || u.left.contains(proposal)) {
      // holding, or settled: never return to a split left under this state
      u.pendingSplit = -1;
      u.pendingCount = 0;
      return;
    }
    if (proposal == u.pendingSplit) {
      u.pendingCount++;
    } else {
      u.pendingSplit = proposal;
      u.pendingCount = 1;
    }
    long now = clock.millis();
    if (u.pendingCount >= hysteresis.confirmations()
        && now - u.lastChangeMs >= hysteresis.minDwell().toMillis()) {
      u.left.add(u.decision.getSplit());
      commit(u, proposal, DecisionReason.DECISION_REASON_POLICY, "policy " + policy.name());
    }
  }

  private void commit(Ue u, int split, DecisionReason reason, String detail) {
    PrivacyFloor.Floor floor = floorOf(u);
    if (u.wanted >= 0 && u.wanted < split && split == floor.minSplit() && !u.pinned) {
      reason = DecisionReason.DECISION_REASON_PRIVACY_FLOOR;
      detail = detail + "; wanted p = " + u.wanted + ", privacy floor " + floor.detail();
    }
    u.wanted = -1;
    long now = clock.millis();
    long prev = Math.max(lastEpoch, u.decision == null ? 0 : u.decision.getEpoch());
    ChannelState c = u.channel.inForce();
    SplitDecision.Builder b =
        SplitDecision.newBuilder()
            .setUeId(u.reg.getUeId())
            .setSplit(split)
            .setEpoch(Math.max(prev + 1, now))
            .setEffectiveStep(0)
            .setReason(reason)
            .setDetail(detail)
            .setPolicy(policy.name())
            .setPinned(u.pinned)
            .setDecidedAtUnixMs(now)
            .setPrivacyFloor(floor.minSplit())
            .setWeightFormat(u.weightFormat);
    if (c != null) {
      b.setSigma(c.sigma())
          .setSigmaH(c.sigmaH())
          .setLossRate(c.loss())
          .setChannelSource(source.reportSource())
          .setEvidencePackets(u.channel.effectivePackets());
    }
    boolean changed = u.decision == null || u.decision.getSplit() != split;
    int from = u.decision == null ? -1 : u.decision.getSplit();
    u.decision = b.build();
    lastEpoch = u.decision.getEpoch();
    u.pendingSplit = -1;
    u.pendingCount = 0;
    if (changed) {
      u.lastChangeMs = now;
      if (from >= 0) {
        log.info(
            "UE {} split {} -> {} ({}) on sigma {} P {}",
            u.reg.getUeId(),
            from,
            split,
            reason.name(),
            c == null ? "-" : fmt(c.sigma()),
            c == null ? "-" : fmt(c.loss()));
      }
    }
    metrics.counter("controller_decisions_total", "reason", reason.name()).increment();
    journal.decision(u.decision);
    watchers.publish(u.reg.getUeId(), u.reg.getEdgeId(), u.decision);
  }

  /** Ends every watch stream (shutdown). */
  public synchronized void completeWatchers() {
    watchers.completeAll();
  }

  private static Exception notFound(String ueId) {
    return Status.NOT_FOUND.withDescription("unknown UE '" + ueId + "'").asException();
  }
}
