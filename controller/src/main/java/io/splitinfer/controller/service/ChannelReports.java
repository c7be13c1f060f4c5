package io.splitinfer.controller.service;

import io.splitinfer.core.channel.ChannelState;
import io.splitinfer.proto.v1.ChannelReport;

/**
 * The protocol step "a ChannelReport arrives": its validation and its meaning as a core {@link
 * ChannelState}. A report with evidence (packets_seen &gt; 0) is an increment for {@link
 * ChannelFusion}; one without declares a state.
 */
final class ChannelReports {
  private ChannelReports() {}

  /** Why the report is invalid, or null. */
  static String invalid(ChannelReport r) {
    if (!(r.getSigma() >= 0) || !(r.getSigmaH() >= 0) || !(r.getLossRate() >= 0)) {
      return "sigma, sigma_h >= 0 and 0 <= loss_rate <= 1 required";
    }
    if (r.getLossRate() > 1) {
      return "loss_rate must be <= 1, got " + r.getLossRate();
    }
    if (r.getPacketsSeen() < 0
        || r.getPacketsLost() < 0
        || r.getPacketsLost() > r.getPacketsSeen()
        || r.getPilots() < 0
        || r.getSigmaDof() < 0
        || r.getWindowMs() < 0) {
      return "evidence counts must be >= 0 with packets_lost <= packets_seen";
    }
    if (r.getPacketsSeen() > 0 && r.getUeId().isBlank()) {
      return "a report with evidence (packets_seen > 0) needs ue_id";
    }
    return null;
  }

  static ChannelState evidence(ChannelReport r) {
    return new ChannelState(
        r.getSigmaDof() > 0 ? r.getSigma() : Double.NaN,
        (double) r.getPacketsLost() / r.getPacketsSeen(),
        new ChannelState.Evidence(
            r.getPilots(),
            r.getSigmaDof(),
            r.getPacketsSeen(),
            r.getPacketsLost(),
            r.getWindowMs()));
  }

  /** A declared report's P: loss_rate, else eq. 4 from σ_h at h_th = 1, else (both 0) none. */
  static double declaredLoss(ChannelReport r) {
    if (r.getLossRate() > 0) {
      return r.getLossRate();
    }
    return r.getSigmaH() > 0 ? ChannelState.lossForSigmaH(r.getSigmaH()) : 0.0;
  }
}
