package io.splitinfer.core.channel;

/**
 * What the channel did to one message (see {@link ChannelModel#impair}).
 *
 * @param packets packets the message was cut into
 * @param packetElements elements per packet (the last packet may hold fewer)
 * @param packetsLost packets finally lost (zero-filled) after any retransmissions
 * @param retransmissions ARQ re-sends over all packets
 * @param extraDelayMs delay added by retransmissions: the round trip times the largest number of
 *     re-sends of any packet (packets are retransmitted in parallel, selective repeat)
 * @param erasureMask one bit per packet, LSB first, 1 = lost; empty unless the policy is ERASURE
 *     and at least one packet was lost
 * @param noiseSigma the σ that was applied (absolute, or derived from the SNR)
 * @param signalPower mean y² of the transmitted values
 * @param signalEnergy Σ y² of the transmitted values
 * @param errorEnergy Σ (ŷ − y)² of the delivered values (lost packets count in full)
 */
public record Impairment(
    int packets,
    int packetElements,
    int packetsLost,
    int retransmissions,
    double extraDelayMs,
    byte[] erasureMask,
    double noiseSigma,
    double signalPower,
    double signalEnergy,
    double errorEnergy) {

  /** Delivered SNR in dB, Σy² / Σ(ŷ−y)²; +∞ for an error-free delivery. */
  public double deliveredSnrDb() {
    return snrDb(signalEnergy, errorEnergy);
  }

  /** Whether the erasure mask marks packet {@code k} as lost. */
  public boolean erased(int k) {
    int b = k >>> 3;
    return b < erasureMask.length && (erasureMask[b] >>> (k & 7) & 1) == 1;
  }

  /** 10·log10(signal / error) with the conventions of {@link #deliveredSnrDb()}. */
  public static double snrDb(double signalEnergy, double errorEnergy) {
    if (errorEnergy <= 0) {
      return Double.POSITIVE_INFINITY;
    }
    if (signalEnergy <= 0) {
      return Double.NEGATIVE_INFINITY;
    }
    return 10 * Math.log10(signalEnergy / errorEnergy);
  }
}
