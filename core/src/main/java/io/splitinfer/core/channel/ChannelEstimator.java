package io.splitinfer.core.channel;

import java.util.function.LongSupplier;

/**
 * Receiver-side estimate of the uplink (eqs. 3-4), what a base station could measure: σ from
 * received pilots, the loss probability P from <em>every</em> packet received (hidden states and
 * pilots), over a sliding window of the most recent packets. The result is a {@link ChannelState}
 * with its evidence.
 *
 * <p>For each packet k of a received message (n_k elements):
 *
 * <ul>
 *   <li>lost: its erasure bit is set, or (zero-fill) every received value is exactly 0;
 *   <li>pilot packets against the known symbols x (see {@link PilotSequence}): least-squares gain
 *       ĥ_k = Σ x_i r_i / Σ x_i² and residual Σ (r_i − ĥ_k x_i)², which has n_k − 1 degrees of
 *       freedom whatever h_k is (fading does not bias σ̂).
 * </ul>
 *
 * <p>Over the window:
 *
 * <ul>
 *   <li>σ̂² = Σ residuals / Σ (n_k − 1) over delivered pilot packets;
 *   <li>P̂ = lost packets / packets (all packets);
 *   <li>diagnostics only: the physical fading scale of the gain, {@code gainScale} (not the σ_h of
 *       {@link ChannelState}, which is stated at h_th = 1): h² ~ Exp(θ), θ = 2 s²; delivered
 *       packets have h² &gt; h_th² and by memorylessness E[h² | delivered] = θ (1 − ln(1 − P)), so
 *       θ̂ = mean(ĥ_k² − σ̂²/Σx²) / (1 − ln(1 − P̂)); and SNR = mean(x²) / σ̂² in dB.
 * </ul>
 *
 * <p>Besides the window it keeps an <em>increment</em>: the evidence since the last {@link #drain},
 * which is what the edge reports to the controller (so the controller's fusion never counts a
 * packet twice). Pilots must be received RAW (channel-sim never equalizes them). Thread-safe.
 */
public final class ChannelEstimator {
  /** Default window, in packets. */
  public static final int DEFAULT_WINDOW_PACKETS = 4096;

  private final int window;
  private final LongSupplier clockMs;
  private final boolean[] lost;
  private final boolean[] pilot;
  private final double[] gainSq;
  private final double[] gain;
  private final double[] rss;
  private final int[] dof;
  private final double[] sxx;
  private final double[] power;
  private final long[] atMs;
  private int head;
  private int size;
  private long pilots;
  private long packetsTotal;
  private long lostTotal;
  // the increment since the last drain
  private long incPilots;
  private long incPackets;
  private long incLost;
  private double incRss;
  private long incDof;
  private long incSinceMs = -1;

  public ChannelEstimator() {
    this(DEFAULT_WINDOW_PACKETS, System::currentTimeMillis);
  }

  public ChannelEstimator(int windowPackets) {
    this(windowPackets, System::currentTimeMillis);
  }

  /**
   * @param windowPackets packets in the sliding window
   * @param clockMs the time in ms (evidence windows are measured on it)
   */
  public ChannelEstimator(int windowPackets, LongSupplier clockMs) {
    if (windowPackets < 1) {
      throw new IllegalArgumentException("window must be >= 1, got " + windowPackets);
    }
    window = windowPackets;
    this.clockMs = clockMs;
    lost = new boolean[window];
    pilot = new boolean[window];
    gainSq = new double[window];
    gain = new double[window];
    rss = new double[window];
    dof = new int[window];
    sxx = new double[window];
    power = new double[window];
    atMs = new long[window];
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
    add(received, known, packetElements, erasureMask);
    pilots++;
    incPilots++;
    return estimate();
  }

  /**
   * Counts the packets of one received hidden state (loss evidence only: its values are unknown to
   * the receiver). Returns the number of its packets that were lost.
   */
  public synchronized int observeHidden(float[] received, int packetElements, byte[] erasureMask) {
    return add(received, null, packetElements, erasureMask);
  }

  private int add(float[] received, float[] known, int packetElements, byte[] erasureMask) {
    if (packetElements < 1) {
      throw new IllegalArgumentException("packetElements must be >= 1, got " + packetElements);
    }
    byte[] mask = erasureMask == null ? new byte[0] : erasureMask;
    long now = clockMs.getAsLong();
    if (incSinceMs < 0) {
      incSinceMs = now;
    }
    int packets = (received.length + packetElements - 1) / packetElements;
    int nLost = 0;
    for (int k = 0; k < packets; k++) {
      int start = k * packetElements;
      int end = Math.min(received.length, start + packetElements);
      boolean isLost = isLost(received, start, end, mask, k);
      int slot = head;
      head = (head + 1) % window;
      size = Math.min(window, size + 1);
      lost[slot] = isLost;
      pilot[slot] = known != null;
      atMs[slot] = now;
      rss[slot] = 0;
      dof[slot] = 0;
      gain[slot] = 0;
      gainSq[slot] = 0;
      sxx[slot] = 0;
      power[slot] = 0;
      if (known != null) {
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
        gain[slot] = h;
        gainSq[slot] = h * h;
        sxx[slot] = xx;
        power[slot] = end > start ? xx / (end - start) : 0;
        if (!isLost) {
          rss[slot] = res;
          dof[slot] = end - start - 1;
          incRss += res;
          incDof += end - start - 1;
        }
      }
      packetsTotal++;
      incPackets++;
      if (isLost) {
        lostTotal++;
        incLost++;
        nLost++;
      }
    }
    return nLost;
  }

  private static boolean isLost(float[] r, int start, int end, byte[] mask, int k) {
    int b = k >>> 3;
    if (b < mask.length && (mask[b] >>> (k & 7) & 1) == 1) {
      return true;
    }
    for (int i = start; i < end; i++) {
      if (r[i] != 0f) {
        return false;
      }
    }
    return true;
  }

  /** The estimate over the current window. */
  public synchronized Estimate estimate() {
    int n = size;
    int nLost = 0;
    int nPilot = 0;
    double rssSum = 0;
    long dofSum = 0;
    double powSum = 0;
    long oldest = Long.MAX_VALUE;
    for (int j = 0; j < n; j++) {
      oldest = Math.min(oldest, atMs[j]);
      if (lost[j]) {
        nLost++;
      }
      if (pilot[j] && !lost[j]) {
        nPilot++;
        rssSum += rss[j];
        dofSum += dof[j];
        powSum += power[j];
      }
    }
    double sigma2 = dofSum > 0 ? rssSum / dofSum : Double.NaN;
    double lossRate = n > 0 ? (double) nLost / n : 0;
    double gainScale = Double.NaN;
    double meanGain = Double.NaN;
    if (nPilot > 0) {
      double sq = 0;
      double g = 0;
      double bias = Double.isNaN(sigma2) ? 0 : sigma2;
      for (int j = 0; j < n; j++) {
        if (pilot[j] && !lost[j]) {
          sq += gainSq[j] - (sxx[j] > 0 ? bias / sxx[j] : 0);
          g += gain[j];
        }
      }
      meanGain = g / nPilot;
      double theta = sq / nPilot / (1 - Math.log1p(-Math.min(lossRate, 1 - 1e-12)));
      gainScale = theta > 0 ? Math.sqrt(theta / 2) : 0;
    }
    double snrDb =
        nPilot == 0 || Double.isNaN(sigma2)
            ? Double.NaN
            : sigma2 == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(powSum / nPilot / sigma2);
    long span = n == 0 ? 0 : Math.max(0, clockMs.getAsLong() - oldest);
    ChannelState state =
        new ChannelState(
            Double.isNaN(sigma2) ? Double.NaN : Math.sqrt(sigma2),
            lossRate,
            new ChannelState.Evidence(pilots, dofSum, n, nLost, span));
    return new Estimate(state, snrDb, gainScale, meanGain, packetsTotal, lostTotal);
  }

  /**
   * The evidence since the previous drain (or creation) as a state, and starts a new increment. σ
   * is NaN when no pilot packet was delivered in the increment.
   */
  public synchronized ChannelState drain() {
    long now = clockMs.getAsLong();
    ChannelState s =
        new ChannelState(
            incDof > 0 ? Math.sqrt(incRss / incDof) : Double.NaN,
            incPackets > 0 ? (double) incLost / incPackets : 0,
            new ChannelState.Evidence(
                incPilots,
                incDof,
                incPackets,
                incLost,
                incSinceMs < 0 ? 0 : Math.max(0, now - incSinceMs)));
    incPilots = 0;
    incPackets = 0;
    incLost = 0;
    incRss = 0;
    incDof = 0;
    incSinceMs = -1;
    return s;
  }

  /** Packets in the increment not yet drained. */
  public synchronized long pendingPackets() {
    return incPackets;
  }

  /** Time in ms since the increment's first packet (0 when empty). */
  public synchronized long pendingMs() {
    return incSinceMs < 0 ? 0 : Math.max(0, clockMs.getAsLong() - incSinceMs);
  }

  /** Forgets every observation. */
  public synchronized void reset() {
    head = 0;
    size = 0;
    pilots = 0;
    packetsTotal = 0;
    lostTotal = 0;
    drain();
  }

  /**
   * A windowed estimate.
   *
   * @param state σ̂ and P̂ over the window, with its evidence
   * @param snrDb transmit SNR in dB, mean(x²)/σ̂²
   * @param gainScale physical Rayleigh scale of the gain h (diagnostic; an AWGN channel, h = 1,
   *     reads as 1/√2). Not the σ_h of {@link ChannelState}, which is stated at h_th = 1
   * @param meanGain mean ĥ over delivered pilot packets
   * @param packetsTotal packets observed since creation or reset
   * @param lostTotal lost packets since creation or reset
   */
  public record Estimate(
      ChannelState state,
      double snrDb,
      double gainScale,
      double meanGain,
      long packetsTotal,
      long lostTotal) {
    public double sigma() {
      return state.sigma();
    }

    public double lossRate() {
      return state.loss();
    }

    public long pilots() {
      return state.evidence().pilots();
    }

    public long windowPackets() {
      return state.evidence().packetsSeen();
    }
  }
}
