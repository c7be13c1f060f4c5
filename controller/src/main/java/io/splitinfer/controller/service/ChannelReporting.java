package io.splitinfer.controller.service;

import static io.splitinfer.controller.service.ControllerState.fmt;
import static io.splitinfer.controller.service.ControllerState.log;

import io.grpc.Status;
import io.grpc.StatusException;
import io.splitinfer.controller.service.ControllerState.Ue;
import io.splitinfer.core.channel.ChannelState;
import io.splitinfer.proto.v1.ChannelReport;
import io.splitinfer.proto.v1.ChannelReportSource;

/**
 * Channel reports and the state in force per UE. Which reports drive decisions is fixed at start by
 * the {@link ChannelSource}: {@code ESTIMATE} fuses the edge's evidence increments per UE ({@link
 * ChannelFusion}) and acts only when the estimate moved beyond the hysteresis with enough evidence;
 * {@code CHANNEL_SIM} acts on channel-sim's ground truth ({@link #observeTruth}). Reports of the
 * other kind are counted ({@code controller_channel_reports_total{used="false"}}) and the truth is
 * kept for logs; the two are never mixed. A report without evidence declares a state outright;
 * without {@code ue_id} it declares it for every UE (and for UEs that register later, {@link
 * ControllerState#declaredForAll}). A new state in force re-runs the policy at once ({@link
 * UeDecisions#evaluate}).
 */
final class ChannelReporting {
  private final ControllerState s;
  private final UeDecisions decisions;

  ChannelReporting(ControllerState s, UeDecisions decisions) {
    this.s = s;
    this.decisions = decisions;
  }

  /** ReportChannel past the role check: the UE's decision epoch (0 for a report for every UE). */
  long report(ChannelReport req) throws StatusException {
    String bad = ChannelReports.invalid(req);
    if (bad != null) {
      s.metrics.counter("controller_rejected_reports_total").increment();
      throw Status.INVALID_ARGUMENT.withDescription(bad).asException();
    }
    boolean used = s.source.accepts(req.getSource());
    s.metrics
        .counter(
            "controller_channel_reports_total",
            "source",
            req.getSource().name(),
            "used",
            String.valueOf(used))
        .increment();
    synchronized (s.lock) {
      Ue u = req.getUeId().isBlank() ? null : s.ues.get(req.getUeId());
      if (!req.getUeId().isBlank() && u == null) {
        throw ControllerState.notFound(req.getUeId());
      }
      if (u != null) {
        u.lastSeenMs = s.clock.millis();
      }
      if (req.getPacketsSeen() > 0) {
        if (used) {
          u.channel.add(ChannelReports.evidence(req), s.clock.millis(), s.hysteresis.sigmaDelta());
          if (u.channel.maybeAct(s.hysteresis)) {
            stateChanged(u);
          }
        }
      } else {
        ChannelState declared =
            ChannelState.declared(req.getSigma(), ChannelReports.declaredLoss(req));
        if (!used) {
          if (req.getSource() == ChannelReportSource.CHANNEL_REPORT_SOURCE_CHANNEL_SIM) {
            s.truth = declared;
          }
        } else if (u == null) {
          declareForAll(declared);
        } else {
          u.channel.declare(declared);
          stateChanged(u);
        }
      }
      return u == null ? 0 : u.decision.getEpoch();
    }
  }

  /**
   * channel-sim's ground truth (the watch stream). Under {@link ChannelSource#CHANNEL_SIM} it is
   * declared for every UE when it changed; otherwise it is only kept for logs.
   */
  void observeTruth(ChannelState t) {
    synchronized (s.lock) {
      ChannelState before = s.truth;
      s.truth = t;
      if (s.source == ChannelSource.CHANNEL_SIM && !sameValues(before, t)) {
        declareForAll(t);
      }
    }
  }

  /** The state in force of a UE (null when it has none). */
  ChannelState inForce(String ueId) {
    synchronized (s.lock) {
      Ue u = s.ues.get(ueId);
      return u == null ? null : u.channel.inForce();
    }
  }

  private static boolean sameValues(ChannelState a, ChannelState b) {
    return a != null
        && b != null
        && Double.compare(a.sigma(), b.sigma()) == 0
        && Double.compare(a.loss(), b.loss()) == 0;
  }

  private void declareForAll(ChannelState st) {
    s.declaredForAll = st;
    for (Ue u : s.ues.values()) {
      u.channel.declare(st);
      stateChanged(u);
    }
  }

  private void stateChanged(Ue u) {
    ChannelState c = u.channel.inForce();
    s.metrics.counter("controller_channel_state_changes_total").increment();
    log.info(
        "UE {} channel state in force ({}): sigma {} P {} sigma_h {} from {} packets, P 95% CI"
            + " [{}, {}]{}",
        u.reg.getUeId(),
        s.source.flag(),
        fmt(c.sigma()),
        fmt(c.loss()),
        fmt(c.sigmaH()),
        Math.round(u.channel.effectivePackets()),
        fmt(u.channel.lossInterval().low()),
        fmt(u.channel.lossInterval().high()),
        s.truth == null
            ? ""
            : " (truth sigma " + fmt(s.truth.sigma()) + " P " + fmt(s.truth.loss()) + ")");
    u.left.clear();
    decisions.evaluate(u);
  }
}
