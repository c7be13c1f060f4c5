package io.splitinfer.core.channel;

/**
 * Parameters of the simulated wireless link: the uplink channel of eqs. 3-4 plus link shaping.
 * Mirrors {@code splitinfer.v1.ChannelParameters} (the proto adapter lives in channel-sim); two
 * fields have no proto counterpart: {@link #pilotSymbols} and {@link #rttMs}.
 *
 * @param sigma absolute noise standard deviation σ of eq. 3 (used when {@code useSnr} is false)
 * @param snrDb SNR in dB against the measured mean power of each tensor (used when {@code useSnr})
 * @param useSnr whether {@code snrDb} (true) or {@code sigma} (false) sets the noise
 * @param fading gain process of h
 * @param sigmaH Rayleigh scale σ_h of eq. 3 (E[h²] = 2σ_h²; 1/√2 gives unit mean power)
 * @param coherencePackets packets sharing one draw of h under {@link Fading#BLOCK}
 * @param hThreshold h_th of eq. 4: a packet whose gain is below it is lost
 * @param lossPolicy what a lost packet becomes
 * @param maxRetransmissions ARQ tries under {@link LossPolicy#RETRANSMIT} before zero-filling
 * @param receiver raw ŷ = h·y + n, or equalized ŷ / ĥ with a pilot-based estimate ĥ
 * @param packetPayloadBytes payload bytes per packet; elements per packet = payload / bytes per
 *     element of the wire dtype
 * @param pilotSymbols BPSK pilot symbols per packet used by the equalizing receiver to estimate h
 *     (0 = perfect channel knowledge)
 * @param uplink shaping of the UE to edge direction
 * @param downlink shaping of the edge to UE direction
 * @param downlinkLoss probability that a downlink packet needs a retransmission
 * @param rttMs round trip charged per retransmission; negative = uplink delay + downlink delay
 * @param seed seed of the random state
 * @param scenario name of the active scenario ("static" when set by hand)
 */
public record ChannelParams(
    double sigma,
    double snrDb,
    boolean useSnr,
    Fading fading,
    double sigmaH,
    int coherencePackets,
    double hThreshold,
    LossPolicy lossPolicy,
    int maxRetransmissions,
    Receiver receiver,
    int packetPayloadBytes,
    int pilotSymbols,
    LinkShape uplink,
    LinkShape downlink,
    double downlinkLoss,
    double rttMs,
    long seed,
    String scenario) {

  /** Rayleigh scale with unit mean power, E[h²] = 1. */
  public static final double UNIT_POWER_SIGMA_H = Math.sqrt(0.5);

  public static final int DEFAULT_PACKET_BYTES = 1400;
  public static final int DEFAULT_MAX_RETRANSMISSIONS = 3;
  public static final int DEFAULT_PILOT_SYMBOLS = 8;

  /** The ideal link: no noise, no fading, no loss, no delay. */
  public static final ChannelParams IDEAL =
      new ChannelParams(
          0,
          0,
          false,
          Fading.NONE,
          UNIT_POWER_SIGMA_H,
          1,
          0,
          LossPolicy.ZERO_FILL,
          DEFAULT_MAX_RETRANSMISSIONS,
          Receiver.RAW,
          DEFAULT_PACKET_BYTES,
          DEFAULT_PILOT_SYMBOLS,
          LinkShape.NONE,
          LinkShape.NONE,
          0,
          -1,
          0,
          "static");

  /** Gain process of eq. 3. */
  public enum Fading {
    /** h = 1 for every packet: plain AWGN. */
    NONE,
    /** h ~ Rayleigh(σ_h), one independent draw per packet. */
    RAYLEIGH,
    /** h ~ Rayleigh(σ_h), one draw per {@code coherencePackets} packets. */
    BLOCK
  }

  /** What a lost packet (h &lt; h_th) becomes. */
  public enum LossPolicy {
    /** The paper's choice: its elements arrive as zeros. */
    ZERO_FILL,
    /** Zeros plus an erasure bit per packet. */
    ERASURE,
    /** ARQ: up to maxRetransmissions re-sends, each with a fresh h and a round trip; then zeros. */
    RETRANSMIT
  }

  /** Receiver processing of a delivered packet. */
  public enum Receiver {
    /** ŷ = h·y + n as received. */
    RAW,
    /** ŷ / ĥ with ĥ the least-squares estimate of h from the packet's pilot symbols. */
    EQUALIZED
  }

  /**
   * Shaping of one direction.
   *
   * @param delayMs one-way propagation delay
   * @param jitterMs uniform jitter ±jitterMs added to the delay (never reorders messages)
   * @param rateBps bandwidth in bits per second; 0 = unlimited
   * @param queueBytes bytes the link may hold before backpressure; 0 = default
   */
  public record LinkShape(double delayMs, double jitterMs, double rateBps, long queueBytes) {
    public static final long DEFAULT_QUEUE_BYTES = 8L << 20;
    public static final LinkShape NONE = new LinkShape(0, 0, 0, 0);

    public LinkShape {
      requireFinite("delayMs", delayMs, 0);
      requireFinite("jitterMs", jitterMs, 0);
      requireFinite("rateBps", rateBps, 0);
      if (queueBytes < 0) {
        throw new IllegalArgumentException("queueBytes must be >= 0, got " + queueBytes);
      }
    }

    /** The queue limit in force (the default when 0). */
    public long effectiveQueueBytes() {
      return queueBytes > 0 ? queueBytes : DEFAULT_QUEUE_BYTES;
    }
  }

  public ChannelParams {
    requireFinite("sigma", sigma, 0);
    if (!Double.isFinite(snrDb)) {
      throw new IllegalArgumentException("snrDb must be finite, got " + snrDb);
    }
    if (fading == null || lossPolicy == null || receiver == null) {
      throw new IllegalArgumentException("fading, lossPolicy and receiver are required");
    }
    if (!(sigmaH > 0) || !Double.isFinite(sigmaH)) {
      throw new IllegalArgumentException("sigmaH must be finite and > 0, got " + sigmaH);
    }
    if (coherencePackets < 1) {
      throw new IllegalArgumentException("coherencePackets must be >= 1, got " + coherencePackets);
    }
    requireFinite("hThreshold", hThreshold, 0);
    if (maxRetransmissions < 0 || maxRetransmissions > 64) {
      throw new IllegalArgumentException(
          "maxRetransmissions must be in [0, 64], got " + maxRetransmissions);
    }
    if (packetPayloadBytes < 4 || packetPayloadBytes > 1 << 20) {
      throw new IllegalArgumentException(
          "packetPayloadBytes must be in [4, 1048576], got " + packetPayloadBytes);
    }
    if (pilotSymbols < 0 || pilotSymbols > 1 << 16) {
      throw new IllegalArgumentException("pilotSymbols must be in [0, 65536], got " + pilotSymbols);
    }
    uplink = uplink == null ? LinkShape.NONE : uplink;
    downlink = downlink == null ? LinkShape.NONE : downlink;
    if (!(downlinkLoss >= 0 && downlinkLoss < 1)) {
      throw new IllegalArgumentException("downlinkLoss must be in [0, 1), got " + downlinkLoss);
    }
    if (Double.isNaN(rttMs) || Double.isInfinite(rttMs)) {
      throw new IllegalArgumentException("rttMs must be finite, got " + rttMs);
    }
    scenario = scenario == null || scenario.isEmpty() ? "static" : scenario;
  }

  private static void requireFinite(String name, double v, double min) {
    if (!Double.isFinite(v) || v < min) {
      throw new IllegalArgumentException(name + " must be finite and >= " + min + ", got " + v);
    }
  }

  /** The round trip charged per retransmission, in ms. */
  public double effectiveRttMs() {
    return rttMs >= 0 ? rttMs : uplink.delayMs() + downlink.delayMs();
  }

  /** P(loss) of eq. 4 for these parameters (0 or 1 without fading). */
  public double expectedLoss() {
    if (fading == Fading.NONE) {
      return hThreshold > 1 ? 1 : 0;
    }
    return ChannelModel.lossProbability(hThreshold, sigmaH);
  }

  /** Whether the uplink channel leaves every value untouched (no noise, h = 1, no loss). */
  public boolean leavesValuesUntouched() {
    return fading == Fading.NONE && hThreshold <= 1 && !useSnr && sigma == 0;
  }

  public Builder toBuilder() {
    return new Builder(this);
  }

  public static Builder builder() {
    return new Builder(IDEAL);
  }

  /** Mutable builder (records stay immutable). */
  public static final class Builder {
    private double sigma;
    private double snrDb;
    private boolean useSnr;
    private Fading fading;
    private double sigmaH;
    private int coherencePackets;
    private double hThreshold;
    private LossPolicy lossPolicy;
    private int maxRetransmissions;
    private Receiver receiver;
    private int packetPayloadBytes;
    private int pilotSymbols;
    private LinkShape uplink;
    private LinkShape downlink;
    private double downlinkLoss;
    private double rttMs;
    private long seed;
    private String scenario;

    private Builder(ChannelParams p) {
      sigma = p.sigma;
      snrDb = p.snrDb;
      useSnr = p.useSnr;
      fading = p.fading;
      sigmaH = p.sigmaH;
      coherencePackets = p.coherencePackets;
      hThreshold = p.hThreshold;
      lossPolicy = p.lossPolicy;
      maxRetransmissions = p.maxRetransmissions;
      receiver = p.receiver;
      packetPayloadBytes = p.packetPayloadBytes;
      pilotSymbols = p.pilotSymbols;
      uplink = p.uplink;
      downlink = p.downlink;
      downlinkLoss = p.downlinkLoss;
      rttMs = p.rttMs;
      seed = p.seed;
      scenario = p.scenario;
    }

    /** Absolute noise σ (switches off SNR mode). */
    public Builder sigma(double v) {
      sigma = v;
      useSnr = false;
      return this;
    }

    /** Noise from SNR in dB (switches on SNR mode). */
    public Builder snrDb(double v) {
      snrDb = v;
      useSnr = true;
      return this;
    }

    public Builder useSnr(boolean v) {
      useSnr = v;
      return this;
    }

    public Builder fading(Fading v) {
      fading = v;
      return this;
    }

    public Builder sigmaH(double v) {
      sigmaH = v;
      return this;
    }

    public Builder coherencePackets(int v) {
      coherencePackets = v;
      return this;
    }

    public Builder hThreshold(double v) {
      hThreshold = v;
      return this;
    }

    /** Sets h_th so that eq. 4 gives loss probability {@code p} at the current σ_h. */
    public Builder lossProbability(double p) {
      hThreshold = ChannelModel.thresholdForLoss(p, sigmaH);
      return this;
    }

    public Builder lossPolicy(LossPolicy v) {
      lossPolicy = v;
      return this;
    }

    public Builder maxRetransmissions(int v) {
      maxRetransmissions = v;
      return this;
    }

    public Builder receiver(Receiver v) {
      receiver = v;
      return this;
    }

    public Builder packetPayloadBytes(int v) {
      packetPayloadBytes = v;
      return this;
    }

    public Builder pilotSymbols(int v) {
      pilotSymbols = v;
      return this;
    }

    public Builder uplink(LinkShape v) {
      uplink = v;
      return this;
    }

    public Builder downlink(LinkShape v) {
      downlink = v;
      return this;
    }

    public Builder downlinkLoss(double v) {
      downlinkLoss = v;
      return this;
    }

    public Builder rttMs(double v) {
      rttMs = v;
      return this;
    }

    public Builder seed(long v) {
      seed = v;
      return this;
    }

    public Builder scenario(String v) {
      scenario = v;
      return this;
    }

    public ChannelParams build() {
      return new ChannelParams(
          sigma,
          snrDb,
          useSnr,
          fading,
          sigmaH,
          coherencePackets,
          hThreshold,
          lossPolicy,
          maxRetransmissions,
          receiver,
          packetPayloadBytes,
          pilotSymbols,
          uplink,
          downlink,
          downlinkLoss,
          rttMs,
          seed,
          scenario);
    }
  }
}
