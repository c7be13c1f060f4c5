package io.splitinfer.controller.service;

import static io.splitinfer.controller.service.ControllerState.log;

import io.grpc.Status;
import io.grpc.StatusException;
import io.splitinfer.controller.service.ControllerState.Ue;
import io.splitinfer.proto.v1.DecisionReason;
import io.splitinfer.proto.v1.FloorStatus;
import io.splitinfer.proto.v1.OverrideRequest;
import io.splitinfer.proto.v1.PolicyStatus;
import io.splitinfer.proto.v1.SetFloorRequest;
import io.splitinfer.proto.v1.SetPolicyRequest;
import io.splitinfer.proto.v1.SplitDecision;
import java.io.UncheckedIOException;

/**
 * The operator's steps: pin and unpin a UE's split ({@link #override}), choose the policy ({@link
 * #setPolicy}: every unpinned UE is re-decided under it), and the privacy floor ({@link #setFloor}:
 * the operator's floor, per UE or the default; no decision is ever below the floor in force, and
 * raising it moves the UEs below at once, pinned ones included). Errors are {@link
 * StatusException}s with a description, thrown before anything changed; the service sends them.
 */
final class OperatorControls {
  private final ControllerState s;
  private final UeDecisions decisions;

  OperatorControls(ControllerState s, UeDecisions decisions) {
    this.s = s;
    this.decisions = decisions;
  }

  /** Override past the role check: the UE's new decision. */
  SplitDecision override(OverrideRequest req) throws StatusException {
    synchronized (s.lock) {
      Ue u = s.ues.get(req.getUeId());
      if (u == null) {
        throw ControllerState.notFound(req.getUeId());
      }
      if (req.getPin()) {
        if (req.getSplit() < s.floorOf(u).minSplit()) {
          throw Status.FAILED_PRECONDITION
              .withDescription(
                  "split "
                      + req.getSplit()
                      + " is below the privacy floor ("
                      + s.floorOf(u).detail()
                      + ")")
              .asException();
        }
        if (req.getSplit() < u.minSplit || req.getSplit() > u.maxSplit) {
          throw Status.INVALID_ARGUMENT
              .withDescription(
                  "split " + req.getSplit() + " outside " + u.minSplit + ".." + u.maxSplit)
              .asException();
        }
        u.pinned = true;
        decisions.commit(
            u, req.getSplit(), DecisionReason.DECISION_REASON_OPERATOR_PIN, "pinned by operator");
      } else {
        u.pinned = false;
        decisions.recommit(
            u, DecisionReason.DECISION_REASON_OPERATOR_UNPIN, "unpinned by operator");
      }
      return u.decision;
    }
  }

  /** SetPolicy past the role check: the policy status after the change. */
  PolicyStatus setPolicy(SetPolicyRequest req) throws StatusException {
    SplitPolicy next;
    try {
      next = s.factory.forRequest(req.getPolicy(), req.getCheckpoint());
    } catch (IllegalArgumentException e) {
      throw Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asException();
    } catch (UncheckedIOException e) {
      throw Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asException();
    }
    synchronized (s.lock) {
      s.policy = next;
      s.journal.policy(req.getPolicy(), req.getCheckpoint(), s.clock.millis());
      for (Ue u : s.ues.values()) {
        if (u.pinned) {
          continue;
        }
        decisions.recommit(
            u, DecisionReason.DECISION_REASON_POLICY_CHANGED, "policy " + next.name());
      }
    }
    log.info("policy set to {} {}", next.name(), next.checkpoint());
    return status();
  }

  /** The policy in force and the policies available. */
  PolicyStatus status() {
    synchronized (s.lock) {
      return PolicyStatus.newBuilder()
          .setPolicy(s.policy.name())
          .setCheckpoint(s.policy.checkpoint())
          .setWeightFormat(s.policy.weightFormat())
          .addAllAvailable(PolicyFactory.AVAILABLE)
          .build();
    }
  }

  /** SetFloor: the floor in force for the request's UE (or the default) after the change. */
  FloorStatus setFloor(SetFloorRequest req) throws StatusException {
    FloorStatus st;
    synchronized (s.lock) {
      Ue target = req.getUeId().isBlank() ? null : s.ues.get(req.getUeId());
      if (!req.getUeId().isBlank() && target == null) {
        throw ControllerState.notFound(req.getUeId());
      }
      PrivacyFloor.Floor f;
      try {
        int layers = target == null ? 0 : target.reg.getNumLayers();
        String who = target == null ? "operator default" : "operator";
        f =
            s.privacy.resolve(
                req.getMinSplit(), req.hasMaxRecovery() ? req.getMaxRecovery() : null, layers, who);
      } catch (IllegalArgumentException | IllegalStateException e) {
        s.metrics.counter("controller_bad_requests_total", "rpc", "SetFloor").increment();
        throw (e instanceof IllegalStateException
                ? Status.FAILED_PRECONDITION
                : Status.INVALID_ARGUMENT)
            .withDescription(e.getMessage())
            .asException();
      }
      for (Ue u : s.ues.values()) {
        if ((target == null || u == target)
            && Math.max(f.minSplit(), u.ownFloor.minSplit()) > u.maxSplit) {
          throw Status.FAILED_PRECONDITION
              .withDescription(
                  "floor p >= "
                      + f.minSplit()
                      + " is above UE "
                      + u.reg.getUeId()
                      + "'s max_split "
                      + u.maxSplit)
              .asException();
        }
      }
      s.privacy.setOperator(req.getUeId(), f);
      for (Ue u : s.ues.values()) {
        PrivacyFloor.Floor now = s.floorOf(u);
        if (u.decision.getSplit() < now.minSplit()) {
          u.wanted = u.decision.getSplit();
          decisions.commit(
              u, now.minSplit(), DecisionReason.DECISION_REASON_PRIVACY_FLOOR, "floor raised");
        }
      }
      st = floorStatus(req.getUeId());
    }
    log.info("privacy floor {}: {}", req.getUeId().isBlank() ? "default" : req.getUeId(), st);
    return st;
  }

  /** GetFloor: the floor in force for a UE (or the default) and where it comes from. */
  FloorStatus getFloor(String ueId) throws StatusException {
    synchronized (s.lock) {
      if (!ueId.isBlank() && !s.ues.containsKey(ueId)) {
        throw ControllerState.notFound(ueId);
      }
      return floorStatus(ueId);
    }
  }

  private FloorStatus floorStatus(String ueId) {
    PrivacyFloor.Floor op = s.privacy.operatorFloor(ueId);
    Ue u = ueId.isBlank() ? null : s.ues.get(ueId);
    PrivacyFloor.Floor own = u == null ? PrivacyFloor.Floor.NONE : u.ownFloor;
    PrivacyFloor.Floor in = s.privacy.floorFor(ueId, own);
    return FloorStatus.newBuilder()
        .setUeId(ueId)
        .setMinSplit(in.minSplit())
        .setOperatorMinSplit(op.minSplit())
        .setUeMinSplit(own.minSplit())
        .setDetail(in.detail())
        .setTable(PrivacyFloor.TABLE_RESOURCE)
        .build();
  }
}
