package io.splitinfer.controller.service;

import io.grpc.Status;
import io.grpc.StatusException;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.MeterRegistry;
import io.splitinfer.controller.pool.EdgeHeartbeats;
import io.splitinfer.controller.pool.EdgePool;
import io.splitinfer.controller.store.ControllerJournal;
import io.splitinfer.controller.store.ControllerStore;
import io.splitinfer.core.channel.ChannelState;
import io.splitinfer.core.security.Authz;
import io.splitinfer.core.security.Identity;
import io.splitinfer.core.security.Role;
import io.splitinfer.proto.v1.ChannelReport;
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
import java.time.Clock;

/**
 * The SplitController service: registers UEs and edges, keeps each UE's channel state, runs the
 * policy on a cadence ({@link #decisionTick}) or when the state in force changes, commits changes
 * through {@link Hysteresis}, and pushes every decision with a strictly increasing epoch to the
 * UE's watchers and to the watchers of its edge ({@link DecisionWatcher}: flow-controlled,
 * latest-per-UE when a watcher is slow).
 *
 * <p>This class is the gRPC surface: each handler checks the caller's role ({@link #secure}),
 * delegates to the collaborator that owns the protocol step, and answers or sends the
 * collaborator's {@code Status} (with a description). One home per step:
 *
 * <ul>
 *   <li>{@link Registrations}: RegisterUe, RegisterEdge, pool placement and GetPool, the registry
 *       cap, {@link #restore};
 *   <li>{@link ChannelReporting}: ReportChannel, channel-sim's truth ({@link #observeTruth}), the
 *       declared state for every UE. Which reports drive decisions is fixed at start by the {@link
 *       ChannelSource} ({@code ESTIMATE}: the edge's evidence fused per UE by {@link
 *       ChannelFusion}; {@code CHANNEL_SIM}: the ground truth); the two are never mixed;
 *   <li>{@link UeDecisions}: propose (weight-format gate, privacy floor), hysteresis, commit and
 *       epochs, the decision cadence and TTL expiry, GetSplit and WatchSplit;
 *   <li>{@link OperatorControls}: Override (pin/unpin), SetPolicy/GetPolicy, SetFloor/GetFloor
 *       ({@link PrivacyFloor}: no decision puts a UE below the floor in force; when the floor
 *       raised what the policy wanted, the reason is {@code DECISION_REASON_PRIVACY_FLOOR});
 *   <li>here: the roles per RPC ({@link #secure}) and EdgeHeartbeat (pool/EdgeHeartbeats).
 * </ul>
 *
 * <p><b>Epochs</b> are {@code max(previous + 1, now in ms)}, previous being the newest epoch of any
 * UE, so they grow strictly across UEs and across controller restarts. All state ({@link
 * ControllerState}) is guarded by one lock shared by the collaborators; calls are short.
 *
 * <p><b>Persistence</b>: registrations, committed decisions and the policy choice go to a {@link
 * ControllerJournal} (the records database, {@code store/ControllerStore}); {@link #restore} loads
 * them back before a restarted controller serves, so "previous" above is the last epoch ever
 * committed, not only this process' last. Channel state and hysteresis counters are not kept: they
 * are rebuilt from fresh evidence.
 */
public final class SplitControllerService extends SplitControllerGrpc.SplitControllerImplBase {
  private final ControllerState state;
  private final UeDecisions decisions;
  private final Registrations registrations;
  private final ChannelReporting channels;
  private final OperatorControls operator;
  private Authz authz = Authz.off();

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
    this.state =
        new ControllerState(
            policy, factory, hysteresis, initialSplit, clock, metrics, source, fusion);
    this.decisions = new UeDecisions(state);
    this.registrations = new Registrations(state, decisions);
    this.channels = new ChannelReporting(state, decisions);
    this.operator = new OperatorControls(state, decisions);
  }

  /** The pool of edges (placement of UEs; pool/EdgePool). */
  public EdgePool pool() {
    return state.pool;
  }

  public ChannelSource channelSource() {
    return state.source;
  }

  /**
   * Loads the state a previous controller left ({@code snapshot}: UEs with their decision in force,
   * pins included, and edges) and writes every later change to {@code journal}. Call before
   * serving. The policy choice in the snapshot is the caller's to apply (it builds the policy).
   */
  public void restore(ControllerStore.Snapshot snapshot, ControllerJournal journal) {
    registrations.restore(snapshot, journal);
  }

  /**
   * Who may call what ({@code authz}: enforcing when the server authenticates callers) and the
   * bounds of the UE registry. Call before the server starts. Roles: OPERATOR pins, unpins, sets
   * the policy and may act for any UE; a UE acts only on its own {@code ue_id} (register, get,
   * watch, report); EDGE registers edges, watches by edge and sends pilot reports; CHANNEL_SIM
   * sends ground truth. Refusals are UNAUTHENTICATED / PERMISSION_DENIED, counted in {@code
   * auth_refusals}, and change nothing.
   */
  public SplitControllerService secure(Authz authz, RegistrationLimits limits) {
    synchronized (state.lock) {
      this.authz = authz;
      state.limits = limits;
      return this;
    }
  }

  /**
   * The speculation depth the controller advises UEs (spec_k in every decision, re-issued when it
   * changes; {@link SpecDepth}); {@link SpecDepth#OFF}, the default, never sets it. Call before the
   * server starts.
   */
  public SplitControllerService speculation(SpecDepth depth) {
    synchronized (state.lock) {
      state.spec = depth;
      return this;
    }
  }

  /** Registered UEs (tests and tools). */
  public int registeredUes() {
    synchronized (state.lock) {
      return state.ues.size();
    }
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

  /** A unary step of a collaborator: its answer, or its Status. */
  private interface Step<T> {
    T run() throws StatusException;
  }

  private static <T> void answer(StreamObserver<T> out, Step<T> step) {
    T value;
    try {
      value = step.run();
    } catch (StatusException e) {
      out.onError(e);
      return;
    }
    out.onNext(value);
    out.onCompleted();
  }

  // ---- registration and the pool ----

  @Override
  public void registerUe(UeRegistration req, StreamObserver<Registered> out) {
    if (allowed(out, () -> authz.requireUe(req.getUeId()))) {
      answer(out, () -> registrations.registerUe(req));
    }
  }

  @Override
  public void registerEdge(EdgeRegistration req, StreamObserver<Registered> out) {
    if (allowed(out, () -> authz.require(Role.EDGE, Role.OPERATOR))) {
      answer(out, () -> registrations.registerEdge(req));
    }
  }

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
    return new EdgeHeartbeats(state.pool, out);
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
    answer(out, () -> registrations.pool(req.getUeId()));
  }

  // ---- reads and watches ----

  @Override
  public void getSplit(GetSplitRequest req, StreamObserver<SplitDecision> out) {
    if (!allowed(out, () -> requireUeOr(req.getUeId(), Role.EDGE, Role.CONTROLLER))) {
      return;
    }
    answer(out, () -> decisions.current(req.getUeId()));
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
    try {
      decisions.watch(byUe, byUe ? req.getUeId() : req.getEdgeId(), out);
    } catch (StatusException e) {
      out.onError(e);
    }
  }

  /** Ends every watch stream (shutdown). */
  public void completeWatchers() {
    synchronized (state.lock) {
      state.watchers.completeAll();
    }
  }

  // ---- channel state ----

  @Override
  public void reportChannel(ChannelReport req, StreamObserver<ReportAck> out) {
    if (allowed(
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
      answer(out, () -> ReportAck.newBuilder().setEpoch(channels.report(req)).build());
    }
  }

  /**
   * channel-sim's ground truth (the watch stream). Under {@link ChannelSource#CHANNEL_SIM} it is
   * declared for every UE when it changed; otherwise it is only kept for logs.
   */
  public void observeTruth(ChannelState t) {
    channels.observeTruth(t);
  }

  /** The state in force of a UE (null when it has none), for tests and tools. */
  public ChannelState channelInForce(String ueId) {
    return channels.inForce(ueId);
  }

  // ---- operator ----

  @Override
  public void override(OverrideRequest req, StreamObserver<SplitDecision> out) {
    if (allowed(out, () -> authz.require(Role.OPERATOR))) {
      answer(out, () -> operator.override(req));
    }
  }

  @Override
  public void setPolicy(SetPolicyRequest req, StreamObserver<PolicyStatus> out) {
    if (allowed(out, () -> authz.require(Role.OPERATOR))) {
      answer(out, () -> operator.setPolicy(req));
    }
  }

  @Override
  public void getPolicy(GetPolicyRequest req, StreamObserver<PolicyStatus> out) {
    if (allowed(out, () -> authz.require(Role.values()))) {
      answer(out, this::status);
    }
  }

  public PolicyStatus status() {
    return operator.status();
  }

  @Override
  public void setFloor(SetFloorRequest req, StreamObserver<FloorStatus> out) {
    answer(out, () -> operator.setFloor(req));
  }

  @Override
  public void getFloor(GetFloorRequest req, StreamObserver<FloorStatus> out) {
    answer(out, () -> operator.getFloor(req.getUeId()));
  }

  // ---- decisions ----

  /**
   * The decision cadence: runs the policy for every UE. A failure (of one UE's evaluation or a
   * watcher) is logged and counted ({@code controller_decision_failures_total}) and never stops the
   * cadence or the other UEs.
   */
  public void decisionTick() {
    decisions.tick();
  }

  /** As {@link #decisionTick}. */
  public void evaluateAll() {
    decisionTick();
  }
}
