package io.splitinfer.controller.service;

import io.splitinfer.proto.v1.ChannelReportSource;
import java.util.Locale;

/**
 * Which channel state the controller acts on ({@code controller serve --channel-source}). The two
 * are never mixed: reports of the other kind are counted and kept for logs, not acted on.
 */
public enum ChannelSource {
  /** Receiver estimates: the edge's pilot/packet evidence (and UE or operator reports). */
  ESTIMATE,
  /** channel-sim's ground truth: an oracle, for evaluation. */
  CHANNEL_SIM;

  /** Parses {@code estimate} or {@code channel-sim}. */
  public static ChannelSource parse(String s) {
    return switch (s == null ? "" : s.trim().toLowerCase(Locale.ROOT)) {
      case "estimate", "estimated" -> ESTIMATE;
      case "channel-sim", "channel_sim", "truth", "oracle" -> CHANNEL_SIM;
      default ->
          throw new IllegalArgumentException(
              "channel source must be estimate or channel-sim, not '" + s + "'");
    };
  }

  /** Whether a report from {@code r} may drive decisions under this source. */
  public boolean accepts(ChannelReportSource r) {
    boolean truth = r == ChannelReportSource.CHANNEL_REPORT_SOURCE_CHANNEL_SIM;
    return this == CHANNEL_SIM ? truth : !truth;
  }

  /** The report source recorded in decisions made on this source's states. */
  public ChannelReportSource reportSource() {
    return this == CHANNEL_SIM
        ? ChannelReportSource.CHANNEL_REPORT_SOURCE_CHANNEL_SIM
        : ChannelReportSource.CHANNEL_REPORT_SOURCE_EDGE_PILOT;
  }

  public String flag() {
    return this == CHANNEL_SIM ? "channel-sim" : "estimate";
  }
}
