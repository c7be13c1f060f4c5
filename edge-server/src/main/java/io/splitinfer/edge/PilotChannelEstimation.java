package io.splitinfer.edge;

import io.splitinfer.core.channel.ChannelEstimator;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.ChannelEstimate;
import io.splitinfer.proto.v1.Pilot;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.BiConsumer;

/**
 * Answers Pilot messages with ChannelEstimates: one {@link ChannelEstimator} per session, fed the
 * raw received pilot samples (channel-sim never equalizes pilots; a lost packet arrives
 * zero-filled). Each estimate also goes to {@code reporter} (the controller client), keyed by UE.
 */
public final class PilotChannelEstimation implements SplitInferenceService.PilotHandler {
  private final int packetPayloadBytes;
  private final BiConsumer<String, ChannelEstimate> reporter;
  private final ConcurrentMap<String, ChannelEstimator> estimators = new ConcurrentHashMap<>();

  /**
   * @param packetPayloadBytes payload bytes per packet on the uplink (channel-sim's setting)
   * @param reporter receives (ue id, estimate) after every pilot
   */
  public PilotChannelEstimation(
      int packetPayloadBytes, BiConsumer<String, ChannelEstimate> reporter) {
    if (packetPayloadBytes < 1) {
      throw new IllegalArgumentException("packetPayloadBytes must be >= 1");
    }
    this.packetPayloadBytes = packetPayloadBytes;
    this.reporter = reporter;
  }

  @Override
  public Optional<ChannelEstimate> onPilot(String sessionId, String ueId, Pilot pilot) {
    float[] received = TensorCodec.decode(pilot.getSamples());
    if (received.length == 0) {
      throw new IllegalArgumentException("pilot has no samples");
    }
    // channel-sim says where its packets start and which were lost; without it (a direct link)
    // the configured payload size is assumed and all-zero packets count as lost.
    int packetElements =
        pilot.getPacketElements() > 0
            ? pilot.getPacketElements()
            : Math.max(
                1, packetPayloadBytes / TensorCodec.bytesPerElement(pilot.getSamples().getDtype()));
    byte[] mask = pilot.getErasureMask().isEmpty() ? null : pilot.getErasureMask().toByteArray();
    ChannelEstimator.Estimate e =
        estimators
            .computeIfAbsent(sessionId, k -> new ChannelEstimator())
            .observePilot(pilot.getSeed(), received, packetElements, mask);
    ChannelEstimate ce =
        ChannelEstimate.newBuilder()
            .setSessionId(sessionId)
            .setSigma(e.sigma())
            .setSigmaH(e.sigmaH())
            .setLossRate(e.lossRate())
            .setSnrDb(e.snrDb())
            .setPilots(e.pilots())
            .build();
    reporter.accept(ueId, ce);
    return Optional.of(ce);
  }

  @Override
  public void sessionEnded(String sessionId) {
    estimators.remove(sessionId);
  }
}
