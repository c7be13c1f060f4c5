package io.splitinfer.channelsim;

import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.proto.v1.ChannelParameters;
import io.splitinfer.proto.v1.Fading;
import io.splitinfer.proto.v1.LinkShape;
import io.splitinfer.proto.v1.LossPolicy;
import io.splitinfer.proto.v1.Receiver;

/** The adapter between {@link ChannelParameters} on the wire and core's {@link ChannelParams}. */
public final class ProtoChannelParams {
  private ProtoChannelParams() {}

  /**
   * Converts wire parameters; fields left at their proto defaults take the defaults of {@link
   * ChannelParams#IDEAL}. The two fields the proto lacks (pilot symbols, round trip) are taken from
   * {@code current}. Throws IllegalArgumentException for out-of-range values.
   */
  public static ChannelParams fromProto(ChannelParameters p, ChannelParams current) {
    ChannelParams d = ChannelParams.IDEAL;
    return new ChannelParams(
        p.getSigma(),
        p.getSnrDb(),
        p.getUseSnr(),
        switch (p.getFading()) {
          case FADING_UNSPECIFIED, FADING_NONE -> ChannelParams.Fading.NONE;
          case FADING_RAYLEIGH -> ChannelParams.Fading.RAYLEIGH;
          case FADING_RAYLEIGH_BLOCK -> ChannelParams.Fading.BLOCK;
          default -> throw new IllegalArgumentException("unknown fading " + p.getFadingValue());
        },
        p.getSigmaH() == 0 ? d.sigmaH() : p.getSigmaH(),
        p.getCoherencePackets() == 0 ? d.coherencePackets() : p.getCoherencePackets(),
        p.getHThreshold(),
        switch (p.getLossPolicy()) {
          case LOSS_POLICY_UNSPECIFIED, LOSS_POLICY_ZERO_FILL -> ChannelParams.LossPolicy.ZERO_FILL;
          case LOSS_POLICY_ERASURE -> ChannelParams.LossPolicy.ERASURE;
          case LOSS_POLICY_RETRANSMIT -> ChannelParams.LossPolicy.RETRANSMIT;
          default ->
              throw new IllegalArgumentException("unknown loss policy " + p.getLossPolicyValue());
        },
        p.getMaxRetransmissions() == 0 ? d.maxRetransmissions() : p.getMaxRetransmissions(),
        switch (p.getReceiver()) {
          case RECEIVER_UNSPECIFIED, RECEIVER_RAW -> ChannelParams.Receiver.RAW;
          case RECEIVER_EQUALIZED -> ChannelParams.Receiver.EQUALIZED;
          default -> throw new IllegalArgumentException("unknown receiver " + p.getReceiverValue());
        },
        p.getPacketPayloadBytes() == 0 ? d.packetPayloadBytes() : p.getPacketPayloadBytes(),
        current.pilotSymbols(),
        shape(p.getUplink()),
        shape(p.getDownlink()),
        p.getDownlinkLoss(),
        current.rttMs(),
        p.getSeed(),
        p.getScenario());
  }

  private static ChannelParams.LinkShape shape(LinkShape s) {
    return new ChannelParams.LinkShape(
        s.getDelayMs(), s.getJitterMs(), s.getRateBps(), s.getQueueBytes());
  }

  private static LinkShape shape(ChannelParams.LinkShape s) {
    return LinkShape.newBuilder()
        .setDelayMs(s.delayMs())
        .setJitterMs(s.jitterMs())
        .setRateBps(s.rateBps())
        .setQueueBytes(s.queueBytes())
        .build();
  }

  public static ChannelParameters toProto(ChannelParams p) {
    return ChannelParameters.newBuilder()
        .setSigma(p.sigma())
        .setSnrDb(p.snrDb())
        .setUseSnr(p.useSnr())
        .setFading(
            switch (p.fading()) {
              case NONE -> Fading.FADING_NONE;
              case RAYLEIGH -> Fading.FADING_RAYLEIGH;
              case BLOCK -> Fading.FADING_RAYLEIGH_BLOCK;
            })
        .setSigmaH(p.sigmaH())
        .setCoherencePackets(p.coherencePackets())
        .setHThreshold(p.hThreshold())
        .setLossPolicy(
            switch (p.lossPolicy()) {
              case ZERO_FILL -> LossPolicy.LOSS_POLICY_ZERO_FILL;
              case ERASURE -> LossPolicy.LOSS_POLICY_ERASURE;
              case RETRANSMIT -> LossPolicy.LOSS_POLICY_RETRANSMIT;
            })
        .setMaxRetransmissions(p.maxRetransmissions())
        .setReceiver(
            p.receiver() == ChannelParams.Receiver.RAW
                ? Receiver.RECEIVER_RAW
                : Receiver.RECEIVER_EQUALIZED)
        .setPacketPayloadBytes(p.packetPayloadBytes())
        .setUplink(shape(p.uplink()))
        .setDownlink(shape(p.downlink()))
        .setDownlinkLoss(p.downlinkLoss())
        .setSeed(p.seed())
        .setScenario(p.scenario())
        .build();
  }
}
