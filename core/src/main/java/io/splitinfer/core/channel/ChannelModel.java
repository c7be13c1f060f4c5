package io.splitinfer.core.channel;

import io.splitinfer.core.channel.ChannelParams.Fading;
import io.splitinfer.core.channel.ChannelParams.LossPolicy;
import io.splitinfer.core.channel.ChannelParams.Receiver;
import java.util.SplittableRandom;

/**
 * The uplink channel of the paper, eqs. 3-4, applied to one hidden-state message at a time.
 *
 * <p>A message of n values y (already decoded to floats from its wire dtype) is cut into packets of
 * {@code m = packetPayloadBytes / bytesPerElement} values. Packet k gets one gain h_k:
 *
 * <ul>
 *   <li>{@code FADING NONE}: h = 1 (plain AWGN);
 *   <li>{@code RAYLEIGH}: h_k = σ_h·√(−2 ln U), U ~ U(0,1], independent per packet;
 *   <li>{@code BLOCK}: one such draw held for {@code coherencePackets} consecutive packets (the
 *       block continues across messages).
 * </ul>
 *
 * <p><b>Loss (eq. 4).</b> A packet with h_k &lt; h_th is lost, so P(loss) = 1 − exp(−h_th² /
 * (2σ_h²)). ZERO_FILL delivers its values as 0; ERASURE also sets its bit in the erasure mask;
 * RETRANSMIT re-sends it up to N times, each try drawing a fresh h and costing one round trip (the
 * result reports the extra delay), and zero-fills after N failed tries.
 *
 * <p><b>Noise (eq. 3).</b> A delivered packet is received as ŷ_i = h_k·y_i + n_i with n_i ~ N(0,
 * σ²) i.i.d.; σ is either absolute or σ² = P / 10^(SNR/10) with P = mean(y²) of the message.
 *
 * <p><b>Receiver.</b> RAW keeps ŷ. EQUALIZED divides by ĥ_k, the least-squares estimate from K =
 * {@code pilotSymbols} BPSK pilot symbols of amplitude a = √P sent through the same h_k and noise:
 * ĥ_k = Σ s_j r_j / (a K) = h_k + e, e ~ N(0, σ² / (a² K)), which is what is drawn here. K = 0
 * means perfect channel knowledge (ĥ = h). The equalizer does not know the true h.
 *
 * <p>The random state (a {@link SplittableRandom} seeded from {@link ChannelParams#seed()}) is
 * consumed in a fixed order, so the same seed and the same sequence of messages give the same
 * impairment bit for bit. Instances are thread-safe (methods are synchronized).
 */
public final class ChannelModel {
  private ChannelParams params;
  private SplittableRandom rng;
  private double blockGain = Double.NaN;
  private int blockLeft;

  public ChannelModel(ChannelParams params) {
    this.params = params;
    this.rng = new SplittableRandom(params.seed());
  }

  public synchronized ChannelParams params() {
    return params;
  }

  /**
   * Replaces the parameters. A different seed restarts the random state; otherwise the random
   * stream continues (so a time-varying scenario stays reproducible). A change of the fading
   * process or coherence restarts the current fading block.
   */
  public synchronized void setParams(ChannelParams next) {
    if (next.seed() != params.seed()) {
      rng = new SplittableRandom(next.seed());
      blockLeft = 0;
    }
    if (next.fading() != params.fading()
        || next.coherencePackets() != params.coherencePackets()
        || next.sigmaH() != params.sigmaH()) {
      blockLeft = 0;
    }
    params = next;
  }

  /** Restarts the random state from {@code seed} (parameters otherwise unchanged). */
  public synchronized void reseed(long seed) {
    rng = new SplittableRandom(seed);
    blockLeft = 0;
  }

  /** P(loss) = 1 − exp(−h_th² / (2σ_h²)), eq. 4. */
  public static double lossProbability(double hTh, double sigmaH) {
    if (!(sigmaH > 0)) {
      throw new IllegalArgumentException("sigmaH must be > 0, got " + sigmaH);
    }
    if (!(hTh >= 0)) {
      throw new IllegalArgumentException("hTh must be >= 0, got " + hTh);
    }
    return -Math.expm1(-(hTh * hTh) / (2 * sigmaH * sigmaH));
  }

  /** Inverse of eq. 4: the h_th that gives loss probability {@code p}, σ_h·√(−2 ln(1−p)). */
  public static double thresholdForLoss(double p, double sigmaH) {
    if (!(p >= 0 && p < 1)) {
      throw new IllegalArgumentException("loss probability must be in [0, 1), got " + p);
    }
    if (!(sigmaH > 0)) {
      throw new IllegalArgumentException("sigmaH must be > 0, got " + sigmaH);
    }
    return sigmaH * Math.sqrt(-2 * Math.log1p(-p));
  }

  /** Elements per packet for a wire dtype of {@code bytesPerElement} bytes. */
  public static int packetElements(int packetPayloadBytes, int bytesPerElement) {
    if (bytesPerElement < 1) {
      throw new IllegalArgumentException("bytesPerElement must be >= 1, got " + bytesPerElement);
    }
    return Math.max(1, packetPayloadBytes / bytesPerElement);
  }

  /** Impairs all of {@code values} in place. */
  public Impairment impair(float[] values, int bytesPerElement) {
    return impair(values, 0, values.length, bytesPerElement);
  }

  /**
   * Impairs {@code values[offset .. offset+length)} in place as one message sent with a wire dtype
   * of {@code bytesPerElement} bytes per element, and reports what happened.
   */
  public synchronized Impairment impair(
      float[] values, int offset, int length, int bytesPerElement) {
    return impair(values, offset, length, bytesPerElement, params.receiver());
  }

  /**
   * As {@link #impair(float[], int, int, int)} with the receiver chosen by the caller (pilots are
   * always received RAW: they are what the receiver estimates the channel from).
   */
  public synchronized Impairment impair(
      float[] values, int offset, int length, int bytesPerElement, Receiver receiver) {
    ChannelParams p = params;
    int per = packetElements(p.packetPayloadBytes(), bytesPerElement);
    int packets = length == 0 ? 0 : (length + per - 1) / per;
    double energy = 0;
    for (int i = offset; i < offset + length; i++) {
      energy += (double) values[i] * values[i];
    }
    double power = length == 0 ? 0 : energy / length;
    double sigma = p.useSnr() ? Math.sqrt(power / Math.pow(10, p.snrDb() / 10)) : p.sigma();
    boolean erasure = p.lossPolicy() == LossPolicy.ERASURE;
    byte[] mask = erasure ? new byte[(packets + 7) / 8] : new byte[0];
    double rtt = p.effectiveRttMs();
    double pilotAmp = power > 0 ? Math.sqrt(power) : 1;
    double hEstSd = p.pilotSymbols() == 0 ? 0 : sigma / (pilotAmp * Math.sqrt(p.pilotSymbols()));
    int lost = 0;
    int retx = 0;
    int maxTries = 0;
    double err = 0;
    for (int k = 0; k < packets; k++) {
      int start = offset + k * per;
      int end = Math.min(offset + length, start + per);
      double h = nextGain(p);
      boolean isLost = h < p.hThreshold();
      if (isLost && p.lossPolicy() == LossPolicy.RETRANSMIT) {
        int tries = 0;
        while (isLost && tries < p.maxRetransmissions()) {
          tries++;
          h = freshGain(p);
          isLost = h < p.hThreshold();
        }
        retx += tries;
        maxTries = Math.max(maxTries, tries);
      }
      if (isLost) {
        lost++;
        if (erasure) {
          mask[k >>> 3] |= (byte) (1 << (k & 7));
        }
        for (int i = start; i < end; i++) {
          err += (double) values[i] * values[i];
          values[i] = 0f;
        }
        continue;
      }
      double scale = 1;
      if (receiver == Receiver.EQUALIZED) {
        double hEst = hEstSd > 0 ? h + hEstSd * rng.nextGaussian() : h;
        scale = Math.abs(hEst) < 1e-12 ? 0 : 1 / hEst;
      }
      for (int i = start; i < end; i++) {
        double y = values[i];
        double r = h * y;
        if (sigma > 0) {
          r += sigma * rng.nextGaussian();
        }
        float out = (float) (r * scale);
        double d = out - y;
        err += d * d;
        values[i] = out;
      }
    }
    if (erasure && lost == 0) {
      mask = new byte[0];
    }
    return new Impairment(
        packets, per, lost, retx, maxTries * rtt, mask, sigma, power, energy, err);
  }

  /**
   * The downlink is reliable (the transport retransmits): each of the {@code ceil(bytes / payload)}
   * packets is lost with probability {@code downlinkLoss} per try and re-sent until it gets
   * through; the message is late by the round trip times the largest number of re-sends.
   */
  public synchronized Downlink transmitDownlink(long bytes) {
    ChannelParams p = params;
    long packets = Math.max(1, (bytes + p.packetPayloadBytes() - 1) / p.packetPayloadBytes());
    int retx = 0;
    int maxTries = 0;
    if (p.downlinkLoss() > 0) {
      for (long k = 0; k < packets; k++) {
        int tries = 0;
        while (tries < 64 && rng.nextDouble() < p.downlinkLoss()) {
          tries++;
        }
        retx += tries;
        maxTries = Math.max(maxTries, tries);
      }
    }
    return new Downlink(packets, retx, maxTries * p.effectiveRttMs());
  }

  /** Result of {@link #transmitDownlink}. */
  public record Downlink(long packets, int retransmissions, double extraDelayMs) {}

  /** One draw of Rayleigh(σ_h): σ_h·√(−2 ln U), U in (0, 1]. */
  public static double rayleigh(SplittableRandom rng, double sigmaH) {
    double u = 1.0 - rng.nextDouble();
    return sigmaH * Math.sqrt(-2 * Math.log(u));
  }

  private double nextGain(ChannelParams p) {
    switch (p.fading()) {
      case NONE:
        return 1;
      case RAYLEIGH:
        return rayleigh(rng, p.sigmaH());
      case BLOCK:
        if (blockLeft <= 0) {
          blockGain = rayleigh(rng, p.sigmaH());
          blockLeft = p.coherencePackets();
        }
        blockLeft--;
        return blockGain;
      default:
        throw new IllegalStateException("fading " + p.fading());
    }
  }

  private double freshGain(ChannelParams p) {
    return p.fading() == Fading.NONE ? 1 : rayleigh(rng, p.sigmaH());
  }
}
