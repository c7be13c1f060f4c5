package io.splitinfer.edge;

import io.splitinfer.core.channel.ChannelEstimator;
import io.splitinfer.core.channel.ChannelState;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.ChannelEstimate;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.Pilot;
import io.splitinfer.proto.v1.Tensor;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.LongSupplier;

/**
 * The edge's receiver-side channel estimation, as a base station would do it: one {@link
 * ChannelEstimator} per session, fed the raw received pilot samples (σ and loss) and every received
 * hidden state (loss only: a packet with its erasure bit set, or all zeros under zero-fill). Pilots
 * are answered with a ChannelEstimate over the estimator's window.
 *
 * <p>Reports to the controller are increments (the evidence since the session's previous report,
 * {@link ChannelEstimator#drain}), rate-limited per session: one when the increment holds {@code
 * reportEveryPackets} packets or is {@code reportEveryMs} old (checked as packets arrive), and a
 * last one when the session ends.
 */
public final class PilotChannelEstimation implements SplitInferenceService.PilotHandler {
  /** Receives one increment of evidence for a UE. */
  public interface Reporter {
    void report(String ueId, ChannelState increment, double snrDb);
  }

  private final int packetPayloadBytes;
  private final int reportEveryPackets;
  private final long reportEveryMs;
  private final LongSupplier clockMs;
  private final Reporter reporter;
  private final ConcurrentMap<String, Tracker> sessions = new ConcurrentHashMap<>();

  private record Tracker(String ueId, ChannelEstimator estimator) {}

  /**
   * @param packetPayloadBytes payload bytes per packet on the uplink (channel-sim's setting), used
   *     when a message does not carry its packet size
   * @param reportEveryPackets report once the increment holds this many packets (≥ 1)
   * @param reportEveryMs or once it is this old (≥ 0)
   * @param clockMs time in ms
   * @param reporter receives (ue id, increment, SNR dB)
   */
  public PilotChannelEstimation(
      int packetPayloadBytes,
      int reportEveryPackets,
      long reportEveryMs,
      LongSupplier clockMs,
      Reporter reporter) {
    if (packetPayloadBytes < 1 || reportEveryPackets < 1 || reportEveryMs < 0) {
      throw new IllegalArgumentException(
          "need packetPayloadBytes >= 1, reportEveryPackets >= 1, reportEveryMs >= 0");
    }
    this.packetPayloadBytes = packetPayloadBytes;
    this.reportEveryPackets = reportEveryPackets;
    this.reportEveryMs = reportEveryMs;
    this.clockMs = clockMs;
    this.reporter = reporter;
  }

  @Override
  public Optional<ChannelEstimate> onPilot(String sessionId, String ueId, Pilot pilot) {
    float[] received = TensorCodec.decode(pilot.getSamples());
    if (received.length == 0) {
      throw new IllegalArgumentException("pilot has no samples");
    }
    byte[] mask = pilot.getErasureMask().isEmpty() ? null : pilot.getErasureMask().toByteArray();
    Tracker t = tracker(sessionId, ueId);
    ChannelEstimator.Estimate e =
        t.estimator()
            .observePilot(
                pilot.getSeed(),
                received,
                packetElements(pilot.getPacketElements(), pilot.getSamples()),
                mask);
    maybeReport(t);
    ChannelState w = e.state();
    return Optional.of(
        ChannelEstimate.newBuilder()
            .setSessionId(sessionId)
            .setSigma(w.sigma())
            .setSigmaH(w.sigmaH())
            .setLossRate(w.loss())
            .setSnrDb(e.snrDb())
            .setPilots(e.pilots())
            .build());
  }

  /**
   * Counts the packets of a received hidden state. A malformed tensor is left to the session's own
   * validation (which rejects it with a Status); here it is skipped.
   */
  @Override
  public void onHidden(String sessionId, String ueId, HiddenState h) {
    float[] received;
    try {
      received = TensorCodec.decode(h.getTensor());
    } catch (RuntimeException e) {
      return;
    }
    if (received.length == 0) {
      return;
    }
    byte[] mask = h.getErasureMask().isEmpty() ? null : h.getErasureMask().toByteArray();
    Tracker t = tracker(sessionId, ueId);
    t.estimator()
        .observeHidden(received, packetElements(h.getPacketElements(), h.getTensor()), mask);
    maybeReport(t);
  }

  @Override
  public void sessionEnded(String sessionId) {
    Tracker t = sessions.remove(sessionId);
    if (t != null && t.estimator().pendingPackets() > 0) {
      report(t);
    }
  }

  /** The window estimate of a live session (empty when unknown). */
  public Optional<ChannelEstimator.Estimate> estimate(String sessionId) {
    Tracker t = sessions.get(sessionId);
    return t == null ? Optional.empty() : Optional.of(t.estimator().estimate());
  }

  private Tracker tracker(String sessionId, String ueId) {
    return sessions.computeIfAbsent(
        sessionId,
        k ->
            new Tracker(
                ueId, new ChannelEstimator(ChannelEstimator.DEFAULT_WINDOW_PACKETS, clockMs)));
  }

  // channel-sim says where its packets start; without it (a direct link) the configured payload
  // size is assumed.
  private int packetElements(int given, Tensor t) {
    return given > 0
        ? given
        : Math.max(1, packetPayloadBytes / TensorCodec.bytesPerElement(t.getDtype()));
  }

  private void maybeReport(Tracker t) {
    ChannelEstimator e = t.estimator();
    if (e.pendingPackets() >= reportEveryPackets
        || (e.pendingPackets() > 0 && e.pendingMs() >= reportEveryMs)) {
      report(t);
    }
  }

  private void report(Tracker t) {
    ChannelState inc = t.estimator().drain();
    if (inc.evidence().packetsSeen() > 0 && !t.ueId().isBlank()) {
      reporter.report(t.ueId(), inc, t.estimator().estimate().snrDb());
    }
  }
}
