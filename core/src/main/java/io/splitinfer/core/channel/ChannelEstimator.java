package io.splitinfer.core.channel;

import java.util.Arrays;

/**
 * Receiver-side estimate of the uplink (eqs. 3-4) from received pilots, over a sliding window of
 * the most recent packets. This is how a live system learns σ and σ_h without an oracle.
 *
 * <p>For each packet k of a received pilot r against the known symbols x (see {@link
 * PilotSequence}):
 *
 * <ul>
 *   <li>lost: its erasure bit is set, or (zero-fill) every received value is exactly 0;
 *   <li>gain: least squares ĥ_k = Σ x_i r_i / Σ x_i², unbiased for h_k, with variance σ² / Σ x_i²;
 *   <li>residual: Σ (r_i − ĥ_k x_i)², which has n_k − 1 degrees of freedom.
 * </ul>
 *
 * <p>Over the window:
 *
 * <ul>
 *   <li>σ̂² = Σ residuals / Σ (n_k − 1) (delivered packets);
 *   <li>loss rate p̂ = lost packets / packets;
 *   <li>σ̂_h: h² ~ Exp(θ) with θ = 2σ_h²; the Rayleigh MLE is σ̂_h² = mean(h²) / 2. Delivered
 *       packets are those with h² &gt; h_th², and by memorylessness E[h² | h &gt; h_th] = h_th² + θ
 *       = θ (1 − ln(1 − p)), so θ̂ = mean(ĥ_k² − σ̂²/Σx²) / (1 − ln(1 − p̂)) (which is the plain
 *       MLE when nothing is lost; the σ̂²/Σx² term removes the estimation-noise bias);
 *   <li>SNR = mean(x²) / σ̂², in dB (the transmit SNR, comparable to the channel's snr_db).
 * </ul>
 *
 * <p>Pilots must be received RAW (channel-sim never equalizes them). Thread-safe.
 */
public final class ChannelEstimator {
  /** Default window, in packets. */
  public static final int DEFAULT_WINDOW_PACKETS = 4096;

  private final int window;
  private final boolean[] lost;
  private final double[] gainSq; // ĥ² − (per-packet estimation variance) filled at estimate time
  private final double[] gain;
  private final double[] rss;
  private final int[] dof;
  private final double[] sxx;
  private final double[] power;
  private int head;
  private int size;
  private long pilots;
  private long packetsTotal;
  private long lostTotal;

  public ChannelEstimator() {
    this(DEFAULT_WINDOW_PACKETS);
  }

  public ChannelEstimator(int windowPackets) {
    if (windowPackets < 1) {
      throw new IllegalArgumentException("window must be >= 1, got " + windowPackets);
    }
    window = windowPackets;
    lost = new boolean[window];
    gainSq = new double[window];
    gain = new double[window];
    rss = new double[window];
    dof = new int[window];
    sxx = new double[window];
    power = new double[window];
  }

  /**
   * The estimate after one more pilot.
   *
   * @param seed the pilot's seed (the known symbols are {@link PilotSequence#values(long, int)})
   * @param received the received samples
   * @param packetElements elements per packet the channel used (payload bytes / bytes per element)
   * @param erasureMask erasure bits (LSB first) or empty/null when the policy zero-fills
   */
  public Estimate observePilot(
      long seed, float[] received, int packetElements, byte[] erasureMask) {
    return observe(
        received, PilotSequence.values(seed, received.length), packetElements, erasureMask);
  }

  /** As {@link #observePilot} with the known symbols given. */
  public synchronized Estimate observe(
      float[] received, float[] known, int packetElements, byte[] erasureMask) {
    if (received.length != known.length) {
      throw new IllegalArgumentException(
          "received " + received.length + " values but the pilot has " + known.length);
    }
    if (packetElements < 1) {
      throw new IllegalArgumentException("packetElements must be >= 1, got " + packetElements);
    }
    byte[] mask = erasureMask == null ? new byte[0] : erasureMask;
    int packets = (received.length + packetElements - 1) / packetElements;
    for (int k = 0; k < packets; k++) {
      int start = k * packetElements;
      int end = Math.min(received.length, start + packetElements);
      boolean isLost;
      int b = k >>> 3;
      if (b < mask.length && (mask[b] >>> (k & 7) & 1) == 1) {
        isLost = true;
      } else {
        isLost = true;
        for (int i = start; i < end; i++) {
          if (received[i] != 0f) {
            isLost = false;
            break;
          }
        }
      }
      double xx = 0;
      double xr = 0;
      for (int i = start; i < end; i++) {
        xx += (double) known[i] * known[i];
        xr += (double) known[i] * received[i];
      }
      double h = xx > 0 ? xr / xx : 0;
      double res = 0;
      for (int i = start; i < end; i++) {
        double d = received[i] - h * known[i];
        res += d * d;
      }
      int slot = head;
      head = (head + 1) % window;
      size = Math.min(window, size + 1);
      lost[slot] = isLost;
      gain[slot] = h;
      gainSq[slot] = h * h;
      rss[slot] = isLost ? 0 : res;
      dof[slot] = isLost ? 0 : end - start - 1;
      sxx[slot] = xx;
      power[slot] = end > start ? xx / (end - start) : 0;
      packetsTotal++;
      if (isLost) {
        lostTotal++;
      }
    }
    pilots++;
    return estimate();
  }

  /** The estimate over the current window. */
  public synchronized Estimate estimate() {
    int n = size;
    int nLost = 0;
    double rssSum = 0;
    long dofSum = 0;
    double powSum = 0;
    for (int j = 0; j < n; j++) {
      if (lost[j]) {
        nLost++;
      } else {
        rssSum += rss[j];
        dofSum += dof[j];
        powSum += power[j];
      }
    }
    int delivered = n - nLost;
    double sigma2 = dofSum > 0 ? rssSum / dofSum : Double.NaN;
    double lossRate = n > 0 ? (double) nLost / n : Double.NaN;
    double sigmaH = Double.NaN;
    double meanGain = Double.NaN;
    if (delivered > 0) {
      double sq = 0;
      double g = 0;
      double bias = Double.isNaN(sigma2) ? 0 : sigma2;
      for (int j = 0; j < n; j++) {
        if (!lost[j]) {
          sq += gainSq[j] - (sxx[j] > 0 ? bias / sxx[j] : 0);
          g += gain[j];
        }
      }
      double meanSq = sq / delivered;
      meanGain = g / delivered;
      double theta = meanSq / (1 - Math.log1p(-lossRate));
      sigmaH = theta > 0 ? Math.sqrt(theta / 2) : 0;
    }
    double snrDb =
        delivered == 0 || Double.isNaN(sigma2)
            ? Double.NaN
            : sigma2 == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(powSum / delivered / sigma2);
    return new Estimate(
        Double.isNaN(sigma2) ? Double.NaN : Math.sqrt(sigma2),
        sigmaH,
        lossRate,
        snrDb,
        meanGain,
        pilots,
        n,
        nLost,
        packetsTotal,
        lostTotal);
  }

  /** Forgets every observation. */
  public synchronized void reset() {
    Arrays.fill(lost, false);
    head = 0;
    size = 0;
    pilots = 0;
    packetsTotal = 0;
    lostTotal = 0;
  }

  /**
   * A channel estimate.
   *
   * @param sigma noise standard deviation σ̂ (NaN before any delivered packet with ≥ 2 elements)
   * @param sigmaH Rayleigh scale σ̂_h (an AWGN channel, h = 1, reads as 1/√2)
   * @param lossRate packet loss rate over the window
   * @param snrDb transmit SNR in dB, mean(x²)/σ̂²
   * @param meanGain mean ĥ over delivered packets
   * @param pilots pilots observed since creation or reset
   * @param windowPackets packets in the window
   * @param windowLost lost packets in the window
   * @param packetsTotal packets observed since creation or reset
   * @param lostTotal lost packets since creation or reset
   */
  public record Estimate(
      double sigma,
      double sigmaH,
      double lossRate,
      double snrDb,
      double meanGain,
      long pilots,
      long windowPackets,
      long windowLost,
      long packetsTotal,
      long lostTotal) {}
}
