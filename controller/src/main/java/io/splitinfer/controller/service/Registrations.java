package io.splitinfer.controller.service;

import static io.splitinfer.controller.service.ControllerState.log;

import io.grpc.Status;
import io.grpc.StatusException;
import io.splitinfer.controller.pool.Placement;
import io.splitinfer.controller.pool.PoolException;
import io.splitinfer.controller.service.ControllerState.Ue;
import io.splitinfer.controller.store.ControllerJournal;
import io.splitinfer.controller.store.ControllerStore;
import io.splitinfer.core.objective.WeightFormatCost;
import io.splitinfer.proto.v1.DecisionReason;
import io.splitinfer.proto.v1.EdgeAssignment;
import io.splitinfer.proto.v1.EdgeRegistration;
import io.splitinfer.proto.v1.Registered;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;

/**
 * Registration of UEs and edges and the pool wiring: validation of a {@code UeRegistration} (split
 * range, weight format, the UE's own privacy floor), placement on an edge of the pool when asked,
 * the registry cap (idle UEs are expired first), the initial decision, the journal, and the restore
 * of a previous controller's registrations ({@link #restore}). Errors are {@link StatusException}s
 * with a description, thrown before anything changed; the service sends them.
 */
final class Registrations {
  private final ControllerState s;
  private final UeDecisions decisions;

  Registrations(ControllerState s, UeDecisions decisions) {
    this.s = s;
    this.decisions = decisions;
  }

  /** Loads a previous controller's UEs (decision in force, pins included) and edges. */
  void restore(ControllerStore.Snapshot snapshot, ControllerJournal journal) {
    synchronized (s.lock) {
      s.journal = journal;
      for (ControllerStore.UeState st : snapshot.ues()) {
        Ue u = s.newUe();
        u.reg = st.registration();
        u.weightFormat = PolicyFormatGate.storedFormat(u.reg.getWeightFormat());
        u.minSplit = st.minSplit();
        u.maxSplit = st.maxSplit();
        u.decision = st.decision();
        u.pinned = st.decision().getPinned();
        u.lastChangeMs = st.decision().getDecidedAtUnixMs();
        u.lastSeenMs = s.clock.millis(); // the registration TTL starts again at the restart
        s.lastEpoch = Math.max(s.lastEpoch, st.decision().getEpoch());
        s.ues.put(u.reg.getUeId(), u);
      }
      for (EdgeRegistration e : snapshot.edges()) {
        s.edges.put(e.getEdgeId(), e);
      }
      s.ueGauge.set(s.ues.size());
      log.info("restored {} UEs and {} edges", s.ues.size(), s.edges.size());
    }
  }

  /** RegisterUe past the role check: the answer, or the refusal. */
  Registered registerUe(UeRegistration req) throws StatusException {
    if (req.getUeId().isBlank() || req.getNumLayers() < 1) {
      throw Status.INVALID_ARGUMENT
          .withDescription("ue_id and num_layers are required")
          .asException();
    }
    int min = req.getMinSplit();
    int max = req.getMaxSplit();
    if (min == 0 && max == 0) {
      min = Math.min(1, req.getNumLayers());
      max = Math.max(min, req.getNumLayers() - 1);
    }
    if (min < 0 || max > req.getNumLayers() || min > max) {
      throw Status.INVALID_ARGUMENT
          .withDescription(
              "need 0 <= min_split <= max_split <= num_layers, got "
                  + min
                  + ".."
                  + max
                  + " of "
                  + req.getNumLayers())
          .asException();
    }
    String format;
    try {
      format = WeightFormatCost.canonical(req.getWeightFormat());
    } catch (IllegalArgumentException e) {
      s.metrics.counter("controller_bad_requests_total", "rpc", "RegisterUe").increment();
      throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asException();
    }
    PrivacyFloor.Floor own;
    try {
      own =
          s.privacy.resolve(
              req.getPrivacyMinSplit(),
              req.hasPrivacyMaxRecovery() ? req.getPrivacyMaxRecovery() : null,
              req.getNumLayers(),
              "UE");
    } catch (IllegalArgumentException | IllegalStateException e) {
      s.metrics.counter("controller_bad_requests_total", "rpc", "RegisterUe").increment();
      throw (e instanceof IllegalStateException
              ? Status.FAILED_PRECONDITION
              : Status.INVALID_ARGUMENT)
          .withDescription(e.getMessage())
          .asException();
    }
    if (s.privacy.floorFor(req.getUeId(), own).minSplit() > max) {
      throw Status.FAILED_PRECONDITION
          .withDescription(
              "privacy floor p >= "
                  + s.privacy.floorFor(req.getUeId(), own).minSplit()
                  + " is above the UE's max_split "
                  + max)
          .asException();
    }
    EdgeAssignment assignment = null;
    if (req.hasPlacement()) {
      try {
        assignment =
            s.pool.place(
                req.getUeId(),
                new Placement.Request(req.getModelId(), min, max),
                req.getPlacement().getEdgeId());
      } catch (PoolException e) {
        throw e.status().asException();
      }
    }
    SplitDecision d = admit(req, min, max, format, own);
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
    return answer.build();
  }

  /** Enters a validated registration under the lock (cap, entry, initial decision, journal). */
  private SplitDecision admit(
      UeRegistration req, int min, int max, String format, PrivacyFloor.Floor own)
      throws StatusException {
    synchronized (s.lock) {
      Ue u = s.ues.get(req.getUeId());
      boolean fresh = u == null;
      if (fresh && s.ues.size() >= s.limits.maxUes()) {
        s.expireIdle();
      }
      if (fresh && s.ues.size() >= s.limits.maxUes()) {
        s.metrics.counter("controller_registrations_refused_total", "reason", "cap").increment();
        s.pool.unplace(req.getUeId());
        throw Status.RESOURCE_EXHAUSTED
            .withDescription(
                "the controller holds its cap of " + s.limits.maxUes() + " registered UEs")
            .asException();
      }
      if (fresh) {
        u = s.newUe();
        s.ues.put(req.getUeId(), u);
        s.ueGauge.set(s.ues.size());
        if (s.declaredForAll != null) {
          u.channel.declare(s.declaredForAll);
        }
      }
      u.reg = req;
      if (!format.equals(u.weightFormat)) {
        u.refusedPolicy = null; // a new format: a refusal is news again
      }
      u.weightFormat = format;
      u.lastSeenMs = s.clock.millis();
      u.minSplit = min;
      u.maxSplit = max;
      u.ownFloor = own;
      int floor = s.floorOf(u).minSplit();
      if (fresh
          || u.decision.getSplit() < min
          || u.decision.getSplit() > max
          || u.decision.getSplit() < floor) {
        int split = s.initialSplit < 0 ? (min + max) / 2 : Policies.clamp(s.initialSplit, min, max);
        u.wanted = split;
        decisions.commit(
            u,
            PrivacyFloor.bind(split, floor),
            DecisionReason.DECISION_REASON_INITIAL,
            "registered" + decisions.formatRefusal(u));
      }
      s.journal.ue(req, min, max, s.clock.millis());
      return u.decision;
    }
  }

  /** GetPool past the role check: the pool as {@code ueId} (blank: anyone) sees it. */
  io.splitinfer.proto.v1.EdgePool pool(String ueId) throws StatusException {
    synchronized (s.lock) {
      if (!ueId.isBlank() && !s.ues.containsKey(ueId)) {
        throw ControllerState.notFound(ueId);
      }
    }
    return io.splitinfer.proto.v1.EdgePool.newBuilder().addAllEdges(s.pool.view(ueId)).build();
  }

  /** RegisterEdge past the role check. */
  Registered registerEdge(EdgeRegistration req) throws StatusException {
    if (req.getEdgeId().isBlank()) {
      throw Status.INVALID_ARGUMENT.withDescription("edge_id is required").asException();
    }
    try {
      s.pool.register(req);
    } catch (PoolException e) {
      throw e.status().asException();
    }
    synchronized (s.lock) {
      s.edges.put(req.getEdgeId(), req);
      s.journal.edge(req, s.clock.millis());
    }
    return Registered.newBuilder().setId(req.getEdgeId()).build();
  }
}
