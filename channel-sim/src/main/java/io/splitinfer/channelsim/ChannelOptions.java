package io.splitinfer.channelsim;

import io.splitinfer.core.channel.ChannelModel;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.core.channel.ChannelParams.LinkShape;
import java.util.Locale;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/** The channel flags shared by {@code serve} (all apply) and {@code set} (only those given). */
final class ChannelOptions {
  @Spec(Spec.Target.MIXEE)
  CommandSpec spec;

  @Option(names = "--sigma", defaultValue = "0", description = "Noise std σ (absolute).")
  double sigma;

  @Option(
      names = "--snr-db",
      description =
          "Noise from SNR in dB against each tensor's measured power (overrides --sigma).")
  Double snrDb;

  @Option(names = "--fading", defaultValue = "none", description = "none | rayleigh | block.")
  String fading;

  @Option(
      names = "--sigma-h",
      defaultValue = "0.7071067811865476",
      description = "Rayleigh scale σ_h (1/√2 = unit mean power).")
  double sigmaH;

  @Option(
      names = "--coherence-packets",
      defaultValue = "1",
      description = "Packets per fading block (--fading block).")
  int coherencePackets;

  @Option(
      names = "--h-threshold",
      defaultValue = "0",
      description = "Loss threshold h_th of eq. 4.")
  double hThreshold;

  @Option(
      names = "--loss",
      description = "Target loss probability; sets h_th by eq. 4 (overrides --h-threshold).")
  Double loss;

  @Option(
      names = "--loss-policy",
      defaultValue = "zero-fill",
      description = "zero-fill | erasure | retransmit.")
  String lossPolicy;

  @Option(names = "--max-retx", defaultValue = "3", description = "ARQ tries (retransmit).")
  int maxRetx;

  @Option(names = "--receiver", defaultValue = "raw", description = "raw | equalized.")
  String receiver;

  @Option(
      names = "--pilot-symbols",
      defaultValue = "8",
      description = "Pilot symbols per packet for the equalizer's estimate of h (0 = perfect).")
  int pilotSymbols;

  @Option(names = "--packet-bytes", defaultValue = "1400", description = "Packet payload bytes.")
  int packetBytes;

  @Option(names = "--delay-ms", defaultValue = "0", description = "Uplink one-way delay.")
  double delayMs;

  @Option(names = "--jitter-ms", defaultValue = "0", description = "Uplink uniform jitter ±.")
  double jitterMs;

  @Option(names = "--rate-mbps", defaultValue = "0", description = "Uplink rate, 0 = unlimited.")
  double rateMbps;

  @Option(
      names = "--queue-bytes",
      defaultValue = "0",
      description = "Uplink queue before backpressure (0 = 8 MiB).")
  long queueBytes;

  @Option(names = "--down-delay-ms", defaultValue = "0", description = "Downlink one-way delay.")
  double downDelayMs;

  @Option(names = "--down-jitter-ms", defaultValue = "0", description = "Downlink jitter ±.")
  double downJitterMs;

  @Option(names = "--down-rate-mbps", defaultValue = "0", description = "Downlink rate.")
  double downRateMbps;

  @Option(
      names = "--down-queue-bytes",
      defaultValue = "0",
      description = "Downlink queue (0 = 8 MiB).")
  long downQueueBytes;

  @Option(
      names = "--down-loss",
      defaultValue = "0",
      description = "Downlink packet loss probability (each loss costs a round trip).")
  double downLoss;

  @Option(
      names = "--rtt-ms",
      defaultValue = "-1",
      description = "Round trip per retransmission; negative = delay-ms + down-delay-ms.")
  double rttMs;

  @Option(names = "--seed", defaultValue = "0", description = "Seed of the random state.")
  long seed;

  /** All options applied over {@code base} (serve), or only the given ones (set). */
  ChannelParams apply(ChannelParams base, boolean onlyGiven) {
    ParseResult pr = spec.commandLine().getParseResult();
    ChannelParams.Builder b = base.toBuilder();
    java.util.function.Predicate<String> on = n -> !onlyGiven || pr.hasMatchedOption(n);
    if (on.test("--sigma")) {
      b.sigma(sigma);
    }
    if (snrDb != null && on.test("--snr-db")) {
      b.snrDb(snrDb);
    }
    if (on.test("--fading")) {
      b.fading(
          switch (fading.toLowerCase(Locale.ROOT)) {
            case "none", "awgn" -> ChannelParams.Fading.NONE;
            case "rayleigh" -> ChannelParams.Fading.RAYLEIGH;
            case "block" -> ChannelParams.Fading.BLOCK;
            default -> throw new IllegalArgumentException("--fading: none, rayleigh or block");
          });
    }
    if (on.test("--sigma-h")) {
      b.sigmaH(sigmaH);
    }
    if (on.test("--coherence-packets")) {
      b.coherencePackets(coherencePackets);
    }
    if (on.test("--h-threshold")) {
      b.hThreshold(hThreshold);
    }
    if (on.test("--loss-policy")) {
      b.lossPolicy(
          switch (lossPolicy.toLowerCase(Locale.ROOT)) {
            case "zero-fill" -> ChannelParams.LossPolicy.ZERO_FILL;
            case "erasure" -> ChannelParams.LossPolicy.ERASURE;
            case "retransmit" -> ChannelParams.LossPolicy.RETRANSMIT;
            default ->
                throw new IllegalArgumentException(
                    "--loss-policy: zero-fill, erasure or retransmit");
          });
    }
    if (on.test("--max-retx")) {
      b.maxRetransmissions(maxRetx);
    }
    if (on.test("--receiver")) {
      b.receiver(
          switch (receiver.toLowerCase(Locale.ROOT)) {
            case "raw" -> ChannelParams.Receiver.RAW;
            case "equalized" -> ChannelParams.Receiver.EQUALIZED;
            default -> throw new IllegalArgumentException("--receiver: raw or equalized");
          });
    }
    if (on.test("--pilot-symbols")) {
      b.pilotSymbols(pilotSymbols);
    }
    if (on.test("--packet-bytes")) {
      b.packetPayloadBytes(packetBytes);
    }
    LinkShape up = base.uplink();
    up =
        new LinkShape(
            on.test("--delay-ms") ? delayMs : up.delayMs(),
            on.test("--jitter-ms") ? jitterMs : up.jitterMs(),
            on.test("--rate-mbps") ? rateMbps * 1e6 : up.rateBps(),
            on.test("--queue-bytes") ? queueBytes : up.queueBytes());
    LinkShape down = base.downlink();
    down =
        new LinkShape(
            on.test("--down-delay-ms") ? downDelayMs : down.delayMs(),
            on.test("--down-jitter-ms") ? downJitterMs : down.jitterMs(),
            on.test("--down-rate-mbps") ? downRateMbps * 1e6 : down.rateBps(),
            on.test("--down-queue-bytes") ? downQueueBytes : down.queueBytes());
    b.uplink(up).downlink(down);
    if (on.test("--down-loss")) {
      b.downlinkLoss(downLoss);
    }
    if (on.test("--rtt-ms")) {
      b.rttMs(rttMs);
    }
    if (on.test("--seed")) {
      b.seed(seed);
    }
    ChannelParams p = b.build();
    if (loss != null && on.test("--loss")) {
      if (p.fading() == ChannelParams.Fading.NONE) {
        throw new IllegalArgumentException("--loss needs --fading rayleigh or block");
      }
      p = p.toBuilder().hThreshold(ChannelModel.thresholdForLoss(loss, p.sigmaH())).build();
    }
    return p;
  }
}
