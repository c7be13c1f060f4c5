package io.splitinfer.controller.service;

import static io.splitinfer.controller.service.ControllerState.fmt;
import static io.splitinfer.controller.service.ControllerState.log;

import io.grpc.StatusException;
import io.grpc.stub.StreamObserver;
import io.splitinfer.controller.service.ControllerState.Ue;
import io.splitinfer.core.channel.ChannelState;
import io.splitinfer.proto.v1.DecisionReason;
import io.splitinfer.proto.v1.SplitDecision;
import java.util.ArrayList;
import java.util.List;

/**
 * Per-UE decisions: the policy's proposal under the weight-format gate and the privacy floor
 * ({@link #propose}), the hysteresis that turns proposals into changes ({@link #evaluate}:
 * confirmations, min dwell, never back to a split left under the same state), the commit that
 * stamps the epoch and publishes ({@link #commit}), and the decision cadence ({@link #tick}).
 *
 * <p><b>Epochs</b> are {@code max(previous + 1, now in ms)}, previous being the newest epoch of any
 * UE ({@link ControllerState#lastEpoch}, restored ones included), so they grow strictly across UEs
 * and across controller restarts. Every method but {@link #tick} is called with {@link
 * ControllerState#lock} held.
 */
final class UeDecisions {
  private final ControllerState s;

  UeDecisions(ControllerState s) {
    this.s = s;
  }

  /**
   * The decision cadence: runs the policy for every UE. A failure (of one UE's evaluation or a
   * watcher) is logged and counted ({@code controller_decision_failures_total}) and never stops the
   * cadence or the other UEs.
   */
  void tick() {
    synchronized (s.lock) {
      s.pool.expire();
      s.expireIdle();
      for (Ue u : s.ues.values()) {
        try {
          evaluate(u);
          adviseSpeculation(u);
        } catch (RuntimeException e) {
          s.metrics.counter("controller_decision_failures_total").increment();
          log.warn("decision for UE {} failed", u.reg.getUeId(), e);
        }
      }
    }
  }

  /** GetSplit: the decision in force of a UE (which counts as seeing it, for the TTL). */
  SplitDecision current(String ueId) throws StatusException {
    synchronized (s.lock) {
      Ue u = s.ues.get(ueId);
      if (u == null) {
        throw ControllerState.notFound(ueId);
      }
      u.lastSeenMs = s.clock.millis();
      return u.decision;
    }
  }

  /**
   * WatchSplit: adds a watcher of one UE ({@code byUe}) or of every UE of one edge and sends it the
   * decisions in force, under the lock so no newer decision can overtake them.
   */
  void watch(boolean byUe, String key, StreamObserver<SplitDecision> out) throws StatusException {
    synchronized (s.lock) {
      List<SplitDecision> current = new ArrayList<>();
      if (byUe) {
        Ue u = s.ues.get(key);
        if (u == null) {
          throw ControllerState.notFound(key);
        }
        current.add(u.decision);
      } else {
        for (Ue u : s.ues.values()) {
          if (u.reg.getEdgeId().equals(key)) {
            current.add(u.decision);
          }
        }
      }
      // sent under the lock so no newer decision can overtake the current one
      s.watchers.add(byUe, key, out, current);
    }
  }

  /** The split the policy wants for {@code u} on {@code c}, clamped and raised to the floor. */
  int propose(Ue u, ChannelState c) {
    if (!formatMatches(u)) {
      // the policy was trained for another weight format: hold the split in force (documented)
      formatRefusal(u);
      u.wanted = -1;
      return u.decision.getSplit();
    }
    int p = s.policy.propose(c.sigma(), c.sigmaH(), u.decision.getSplit(), u.minSplit, u.maxSplit);
    u.wanted = Policies.clamp(p, u.minSplit, u.maxSplit);
    return PrivacyFloor.bind(u.wanted, s.floorOf(u).minSplit());
  }

  /** Whether the policy in force may decide for {@code u} ({@link PolicyFormatGate}). */
  private boolean formatMatches(Ue u) {
    return PolicyFormatGate.matches(s.policy, u.weightFormat);
  }

  /** "" or the refusal note for u's decision; logged and counted once per UE and policy. */
  String formatRefusal(Ue u) {
    if (formatMatches(u)) {
      return "";
    }
    boolean first = u.refusedPolicy != s.policy;
    u.refusedPolicy = s.policy;
    return s.formatGate.refusal(
        s.policy,
        u.reg.getUeId(),
        u.weightFormat,
        u.decision == null ? -1 : u.decision.getSplit(),
        first);
  }

  /** Re-proposes for an unpinned UE whose state in force was reset and commits (operator step). */
  void recommit(Ue u, DecisionReason reason, String detail) {
    ChannelState c = u.channel.inForce();
    int split = c == null ? u.decision.getSplit() : propose(u, c);
    u.left.clear();
    commit(u, split, reason, detail + formatRefusal(u));
  }

  /** Runs the policy for {@code u} and commits a change once the hysteresis allows it. */
  void evaluate(Ue u) {
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
    long now = s.clock.millis();
    if (u.pendingCount >= s.hysteresis.confirmations()
        && now - u.lastChangeMs >= s.hysteresis.minDwell().toMillis()) {
      u.left.add(u.decision.getSplit());
      commit(u, proposal, DecisionReason.DECISION_REASON_POLICY, "policy " + s.policy.name());
    }
  }

  /**
   * Re-issues u's decision, same split, when the speculation depth the controller advises for it
   * ({@link SpecDepth}, from its edge's load) changed. Only the decision is re-issued ({@link
   * #issue}): the split's hysteresis state in progress and the policy's proposal stay as they are.
   */
  void adviseSpeculation(Ue u) {
    if (!s.spec.enabled() || u.decision == null) {
      return;
    }
    String edge = edgeOf(u);
    int advised = s.spec.advise(s.pool.load(edge));
    if (u.decision.hasSpecK() && u.decision.getSpecK() == advised) {
      return;
    }
    issue(
        u,
        u.decision.getSplit(),
        DecisionReason.DECISION_REASON_SPEC_DEPTH,
        "spec k " + advised + " (edge " + edge + ")",
        advised);
  }

  private String edgeOf(Ue u) {
    String placed = s.pool.placement(u.reg.getUeId());
    return placed != null ? placed : u.reg.getEdgeId();
  }

  /**
   * Makes {@code split} u's decision: the reason (the privacy floor's when it raised the policy's
   * proposal), the hysteresis state reset, then {@link #issue} with the speculation advice.
   */
  void commit(Ue u, int split, DecisionReason reason, String detail) {
    PrivacyFloor.Floor floor = s.floorOf(u);
    if (u.wanted >= 0 && u.wanted < split && split == floor.minSplit() && !u.pinned) {
      reason = DecisionReason.DECISION_REASON_PRIVACY_FLOOR;
      detail = detail + "; wanted p = " + u.wanted + ", privacy floor " + floor.detail();
    }
    u.wanted = -1;
    u.pendingSplit = -1;
    u.pendingCount = 0;
    issue(u, split, reason, detail, s.spec.enabled() ? s.spec.advise(s.pool.load(edgeOf(u))) : 0);
  }

  /**
   * Issues a decision of {@code split} for u: new epoch, the channel state in force, {@code specK}
   * when the controller advises speculation, journal, watchers.
   */
  private void issue(Ue u, int split, DecisionReason reason, String detail, int specK) {
    PrivacyFloor.Floor floor = s.floorOf(u);
    long now = s.clock.millis();
    long prev = Math.max(s.lastEpoch, u.decision == null ? 0 : u.decision.getEpoch());
    ChannelState c = u.channel.inForce();
    SplitDecision.Builder b =
        SplitDecision.newBuilder()
            .setUeId(u.reg.getUeId())
            .setSplit(split)
            .setEpoch(Math.max(prev + 1, now))
            .setEffectiveStep(0)
            .setReason(reason)
            .setDetail(detail)
            .setPolicy(s.policy.name())
            .setPinned(u.pinned)
            .setDecidedAtUnixMs(now)
            .setPrivacyFloor(floor.minSplit())
            .setWeightFormat(u.weightFormat);
    if (s.spec.enabled()) {
      b.setSpecK(specK);
    }
    if (c != null) {
      b.setSigma(c.sigma())
          .setSigmaH(c.sigmaH())
          .setLossRate(c.loss())
          .setChannelSource(s.source.reportSource())
          .setEvidencePackets(u.channel.effectivePackets());
    }
    boolean changed = u.decision == null || u.decision.getSplit() != split;
    int from = u.decision == null ? -1 : u.decision.getSplit();
    u.decision = b.build();
    s.lastEpoch = u.decision.getEpoch();
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
    s.metrics.counter("controller_decisions_total", "reason", reason.name()).increment();
    s.journal.decision(u.decision);
    s.watchers.publish(u.reg.getUeId(), u.reg.getEdgeId(), u.decision);
  }
}
