package io.splitinfer.controller.service;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.MeterRegistry;
import io.splitinfer.controller.env.ChannelDraw;
import io.splitinfer.proto.v1.ChannelReport;
import io.splitinfer.proto.v1.DecisionReason;
import io.splitinfer.proto.v1.EdgeRegistration;
import io.splitinfer.proto.v1.FloorStatus;
import io.splitinfer.proto.v1.GetFloorRequest;
import io.splitinfer.proto.v1.GetPolicyRequest;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The SplitController service: registers UEs and edges, keeps each UE's channel state (from {@code
 * ReportChannel} or channel-sim's stream via {@link #updateChannel}), runs the policy on a cadence
 * ({@link #evaluateAll}) or on a significant channel change, commits changes through {@link
 * Hysteresis}, and pushes every decision with a strictly increasing epoch to the UE's watchers and
 * to the watchers of its edge.
 *
 * <p><b>Channel state.</b> A UE's state is (σ, P_loss). Reports give σ_h and/or a loss rate; a loss
 * rate wins (it is what matters physically), else σ_h is read at the policy's h_th = 1; both absent
 * means no fading. Decisions report σ_h at h_th = 1 ({@link ChannelDraw#sigmaHForLoss}). A report
 * without {@code ue_id} (e.g. channel-sim ground truth) applies to every UE that has no report of
 * its own.
 *
 * <p><b>Privacy floor</b> ({@link PrivacyFloor}): no decision puts a UE below the floor in force
 * (the operator's, from {@code SetFloor}, or the UE's own, from its registration); when the floor
 * raised what the policy wanted, the decision's reason is {@code DECISION_REASON_PRIVACY_FLOOR}.
 *
 * <p><b>Epochs</b> are {@code max(previous + 1, now in ms)}, so they keep growing across controller
 * restarts. All state is guarded by this object's monitor; calls are short.
 */
public final class SplitControllerService extends SplitControllerGrpc.SplitControllerImplBase {
  private static final Logger log = LoggerFactory.getLogger(SplitControllerService.class);
  static final double H_TH = 1.0;

  private final PolicyFactory factory;
  private final Hysteresis hysteresis;
  private final int initialSplit;
  private final Clock clock;
  private final MeterRegistry metrics;
  private final Map<String, Ue> ues = new LinkedHashMap<>();
  private final Map<String, EdgeRegistration> edges = new HashMap<>();
  private final Map<String, List<StreamObserver<SplitDecision>>> ueWatchers = new HashMap<>();
  private final Map<String, List<StreamObserver<SplitDecision>>> edgeWatchers = new HashMap<>();
  private final AtomicInteger ueGauge = new AtomicInteger();
  private final PrivacyFloor privacy = new PrivacyFloor();
  private SplitPolicy policy;
  private Channel globalChannel;

  /**
   * A channel state: σ and loss probability (σ_h at h_th = 1 derived), and when it was observed
   * (the newest observation of a UE's own reports and the default wins).
   */
  record Channel(double sigma, double loss, long observedAtMs) {
    double sigmaH() {
      return loss <= 0 ? Double.POSITIVE_INFINITY : ChannelDraw.sigmaHForLoss(loss, H_TH);
    }

    boolean differs(Channel o, double delta) {
      if (o == null) {
        return true;
      }
      double rel = Math.abs(sigma - o.sigma) / Math.max(1e-9, Math.max(sigma, o.sigma));
      return rel > delta || Math.abs(loss - o.loss) > delta;
    }
  }

  private static final class Ue {
    UeRegistration reg;
    int minSplit;
    int maxSplit;
    SplitDecision decision;
    boolean pinned;
    Channel channel;
    int pendingSplit = -1;
    int pendingCount;
    long lastChangeMs;
    PrivacyFloor.Floor ownFloor = PrivacyFloor.Floor.NONE;
    int wanted = -1; // the policy's proposal before the privacy floor, for the commit's reason
  }

  /**
   * @param policy the policy in force at start
   * @param factory builds policies for SetPolicy
   * @param initialSplit split of a newly registered UE (−1: middle of its range)
   */
  public SplitControllerService(
      SplitPolicy policy,
      PolicyFactory factory,
      Hysteresis hysteresis,
      int initialSplit,
      Clock clock,
      MeterRegistry metrics) {
    this.policy = policy;
    this.factory = factory;
    this.hysteresis = hysteresis;
    this.initialSplit = initialSplit;
    this.clock = clock;
    this.metrics = metrics;
    metrics.gauge("controller_ues", ueGauge);
  }

  // ---- registration ----

  @Override
  public void registerUe(UeRegistration req, StreamObserver<Registered> out) {
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
    SplitDecision d;
    synchronized (this) {
      Ue u = ues.get(req.getUeId());
      boolean fresh = u == null;
      if (fresh) {
        u = new Ue();
        ues.put(req.getUeId(), u);
        ueGauge.set(ues.size());
      }
      u.reg = req;
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
            "registered");
      }
      d = u.decision;
    }
    log.info(
        "UE {} registered (layers {}, splits {}..{})", req.getUeId(), req.getNumLayers(), min, max);
    out.onNext(Registered.newBuilder().setId(req.getUeId()).setDecision(d).build());
    out.onCompleted();
  }

  @Override
  public void registerEdge(EdgeRegistration req, StreamObserver<Registered> out) {
    if (req.getEdgeId().isBlank()) {
      out.onError(Status.INVALID_ARGUMENT.withDescription("edge_id is required").asException());
      return;
    }
    synchronized (this) {
      edges.put(req.getEdgeId(), req);
    }
    out.onNext(Registered.newBuilder().setId(req.getEdgeId()).build());
    out.onCompleted();
  }

  // ---- reads and watches ----

  @Override
  public void getSplit(GetSplitRequest req, StreamObserver<SplitDecision> out) {
    SplitDecision d;
    synchronized (this) {
      Ue u = ues.get(req.getUeId());
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
      Map<String, List<StreamObserver<SplitDecision>>> map = byUe ? ueWatchers : edgeWatchers;
      String key = byUe ? req.getUeId() : req.getEdgeId();
      List<StreamObserver<SplitDecision>> list =
          map.computeIfAbsent(key, k -> new CopyOnWriteArrayList<>());
      list.add(out);
      if (out instanceof ServerCallStreamObserver<SplitDecision> sc) {
        sc.setOnCancelHandler(() -> list.remove(out));
      }
      // sent under the lock so no newer decision can overtake the current one
      for (SplitDecision d : current) {
        out.onNext(d);
      }
    }
  }

  // ---- channel state ----

  @Override
  public void reportChannel(ChannelReport req, StreamObserver<ReportAck> out) {
    if (!(req.getSigma() >= 0)
        || !(req.getSigmaH() >= 0)
        || !(req.getLossRate() >= 0)
        || req.getLossRate() > 1) {
      out.onError(
          Status.INVALID_ARGUMENT
              .withDescription("sigma, sigma_h >= 0 and 0 <= loss_rate <= 1 required")
              .asException());
      return;
    }
    double loss =
        req.getLossRate() > 0
            ? req.getLossRate()
            : req.getSigmaH() > 0 ? ChannelDraw.lossForSigmaH(req.getSigmaH(), H_TH) : 0.0;
    metrics
        .counter("controller_channel_reports_total", "source", req.getSource().name())
        .increment();
    long epoch;
    synchronized (this) {
      if (!req.getUeId().isBlank() && !ues.containsKey(req.getUeId())) {
        out.onError(notFound(req.getUeId()));
        return;
      }
      epoch = updateChannel(req.getUeId(), req.getSigma(), loss);
    }
    out.onNext(ReportAck.newBuilder().setEpoch(epoch).build());
    out.onCompleted();
  }

  /**
   * New channel state for one UE (or, with a blank id, the default for all); evaluates at once when
   * it moved by more than the hysteresis' channel delta. Returns the UE's epoch (0 for all).
   */
  public synchronized long updateChannel(String ueId, double sigma, double loss) {
    Channel c = new Channel(sigma, loss, clock.millis());
    if (ueId == null || ueId.isBlank()) {
      // The default (e.g. channel-sim's watch stream) is now the newest observation for every UE:
      // it replaces an older per-UE report (e.g. the last pilot estimate of an idle UE).
      java.util.Map<Ue, Channel> before = new java.util.HashMap<>();
      for (Ue u : ues.values()) {
        before.put(u, channelOf(u));
      }
      globalChannel = c;
      for (Ue u : ues.values()) {
        if (channelOf(u) == c && c.differs(before.get(u), hysteresis.channelDelta())) {
          evaluate(u);
        }
      }
      return 0;
    }
    Ue u = ues.get(ueId);
    Channel before = channelOf(u);
    u.channel = c;
    if (c.differs(before, hysteresis.channelDelta())) {
      evaluate(u);
    }
    return u.decision.getEpoch();
  }

  // ---- operator ----

  @Override
  public void override(OverrideRequest req, StreamObserver<SplitDecision> out) {
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
        Channel c = channelOf(u);
        int split = c == null ? u.decision.getSplit() : propose(u, c);
        commit(u, split, DecisionReason.DECISION_REASON_OPERATOR_UNPIN, "unpinned by operator");
      }
      d = u.decision;
    }
    out.onNext(d);
    out.onCompleted();
  }

  @Override
  public void setPolicy(SetPolicyRequest req, StreamObserver<PolicyStatus> out) {
    SplitPolicy next;
    try {
      next = factory.create(req.getPolicy(), req.getCheckpoint());
    } catch (IllegalArgumentException e) {
      out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asException());
      return;
    } catch (UncheckedIOException e) {
      out.onError(Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asException());
      return;
    }
    synchronized (this) {
      policy = next;
      for (Ue u : ues.values()) {
        if (u.pinned) {
          continue;
        }
        Channel c = channelOf(u);
        int split = c == null ? u.decision.getSplit() : propose(u, c);
        commit(u, split, DecisionReason.DECISION_REASON_POLICY_CHANGED, "policy " + next.name());
      }
    }
    log.info("policy set to {} {}", next.name(), next.checkpoint());
    out.onNext(status());
    out.onCompleted();
  }

  @Override
  public void getPolicy(GetPolicyRequest req, StreamObserver<PolicyStatus> out) {
    out.onNext(status());
    out.onCompleted();
  }

  public synchronized PolicyStatus status() {
    return PolicyStatus.newBuilder()
        .setPolicy(policy.name())
        .setCheckpoint(policy.checkpoint())
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

  /** Runs the policy for every UE (the decision cadence). */
  public synchronized void evaluateAll() {
    for (Ue u : ues.values()) {
      evaluate(u);
    }
  }

  private Channel channelOf(Ue u) {
    if (u.channel == null) {
      return globalChannel;
    }
    if (globalChannel == null) {
      return u.channel;
    }
    return u.channel.observedAtMs() >= globalChannel.observedAtMs() ? u.channel : globalChannel;
  }

  private int propose(Ue u, Channel c) {
    int p = policy.propose(c.sigma(), c.sigmaH(), u.decision.getSplit(), u.minSplit, u.maxSplit);
    u.wanted = Policies.clamp(p, u.minSplit, u.maxSplit);
    return PrivacyFloor.bind(u.wanted, floorOf(u).minSplit());
  }

  private PrivacyFloor.Floor floorOf(Ue u) {
    return privacy.floorFor(u.reg.getUeId(), u.ownFloor);
  }

  private void evaluate(Ue u) {
    Channel c = channelOf(u);
    if (u.pinned || c == null) {
      return;
    }
    int proposal = propose(u, c);
    if (proposal == u.decision.getSplit()) {
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
    long prev = u.decision == null ? 0 : u.decision.getEpoch();
    Channel c = channelOf(u);
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
            .setPrivacyFloor(floor.minSplit());
    if (c != null) {
      b.setSigma(c.sigma()).setSigmaH(c.sigmaH());
    }
    boolean changed = u.decision == null || u.decision.getSplit() != split;
    u.decision = b.build();
    u.pendingSplit = -1;
    u.pendingCount = 0;
    if (changed) {
      u.lastChangeMs = now;
    }
    metrics.counter("controller_decisions_total", "reason", reason.name()).increment();
    publish(ueWatchers.get(u.reg.getUeId()), u.decision);
    publish(edgeWatchers.get(u.reg.getEdgeId()), u.decision);
  }

  private static void publish(List<StreamObserver<SplitDecision>> list, SplitDecision d) {
    if (list == null) {
      return;
    }
    for (StreamObserver<SplitDecision> o : list) {
      try {
        o.onNext(d);
      } catch (RuntimeException e) {
        list.remove(o); // cancelled or broken stream
      }
    }
  }

  /** Ends every watch stream (shutdown). */
  public synchronized void completeWatchers() {
    for (var m : List.of(ueWatchers, edgeWatchers)) {
      for (var list : m.values()) {
        for (StreamObserver<SplitDecision> o : list) {
          try {
            o.onCompleted();
          } catch (RuntimeException e) {
            // already gone
          }
        }
      }
      m.clear();
    }
  }

  private static Exception notFound(String ueId) {
    return Status.NOT_FOUND.withDescription("unknown UE '" + ueId + "'").asException();
  }
}
