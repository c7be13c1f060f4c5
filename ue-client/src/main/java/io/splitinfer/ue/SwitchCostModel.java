package io.splitinfer.ue;

import io.splitinfer.proto.v1.SwitchMethod;

/**
 * The one home of the choice between moving the KV of the layers that change hands at a split
 * switch (KV transfer) and recomputing it on the side that gains them (recompute). Costs, for
 * {@code n} positions of context, {@code m} moved layers, KV width {@code w = kvHeads·headDim}:
 *
 * <ul>
 *   <li>transfer: {@code m·n·2·w·4} bytes over the link, {@code bytes / rate};
 *   <li>recompute: {@code (m + r)·n} layer-positions of compute at the measured time per
 *       layer-position, plus {@code n·d·4} bytes of hidden states over the link when the edge gains
 *       the layers. {@code r} is the layers the UE must re-run first to get the hidden states the
 *       moved layers start from: 0 when it holds the states at layer old (UE gains), {@code new}
 *       when the edge gains (it re-runs 1..new from the token history).
 * </ul>
 *
 * <p>The link rate and the compute speed are measured: the rate from the edge's KV blocks of
 * earlier transfers to the UE (bytes over the time from SplitSwitch to the ack, which the UE waits
 * for), the compute speed from the UE's own multi-position runs (prefill chunks, recomputes); the
 * edge runs the same model, so the UE's speed stands for both sides. Until a rate is measured the
 * configured one holds; with none configured (0) the model picks transfer, which measures it. A
 * forced method (tests, benchmarks) skips the comparison.
 *
 * <p><b>Clean KV</b> ({@link Config#cleanUeKv}): when the UE gains layers it recomputes them
 * whatever the cost. The edge computed its KV of those layers from hidden states that crossed the
 * channel (noise, zero-filled packets), and a transfer would carry that damage into the UE's cache;
 * recomputed from the UE's own states, the moved layers hold the KV a clean link would have given,
 * and later tokens no longer attend to corrupted keys there. On a clean link both give the same
 * cache. The price is UE compute: {@code (m + r)·n} layer-positions, reported in the estimate.
 * Exponentially weighted (weight {@code alpha} on the newest observation). One per session owner,
 * one thread.
 */
public final class SwitchCostModel {
  /**
   * @param forced the method to use always, or null to pick by cost
   * @param linkBytesPerSecond link rate until a transfer is observed; 0 = unknown (transfer)
   * @param nanosPerLayerPosition prior compute time per layer per position (multi-position run)
   * @param alpha weight of the newest observation
   * @param cleanUeKv recompute whenever the UE gains layers (see the class doc)
   */
  public record Config(
      SwitchMethod forced,
      double linkBytesPerSecond,
      double nanosPerLayerPosition,
      double alpha,
      boolean cleanUeKv) {
    public Config {
      if (!(linkBytesPerSecond >= 0)
          || !(nanosPerLayerPosition > 0)
          || !(alpha > 0 && alpha <= 1)) {
        throw new IllegalArgumentException(
            "link rate must be >= 0, compute time > 0 and alpha in (0, 1]");
      }
    }

    /** Picks by cost: link rate unknown until measured, 20 µs per layer-position, alpha 0.3. */
    public static Config auto() {
      return new Config(null, 0, 20_000, 0.3, false);
    }

    public static Config forced(SwitchMethod method) {
      return new Config(method, 0, 20_000, 0.3, false);
    }

    /** By cost, except that the UE always recomputes the layers it gains (clean KV). */
    public static Config clean() {
      return new Config(null, 0, 20_000, 0.3, true);
    }

    /**
     * The config named by a {@code --switch-method} value: auto (by cost), transfer, recompute or
     * clean.
     */
    public static Config parse(String name) {
      return switch (name) {
        case "auto" -> auto();
        case "transfer" -> forced(SwitchMethod.SWITCH_METHOD_KV_TRANSFER);
        case "recompute" -> forced(SwitchMethod.SWITCH_METHOD_RECOMPUTE);
        case "clean" -> clean();
        default ->
            throw new IllegalArgumentException(
                "unknown switch method '" + name + "' (auto, transfer, recompute or clean)");
      };
    }

    public Config withLinkMbps(double mbps) {
      return new Config(forced, mbps * 1e6 / 8, nanosPerLayerPosition, alpha, cleanUeKv);
    }
  }

  /**
   * What a switch would cost each way and what was chosen; {@code recomputeLayerPositions} is the
   * UE's (or the edge's) compute under recompute, in layer-positions.
   */
  public record Estimate(
      SwitchMethod method,
      long transferBytes,
      double transferMs,
      long recomputeBytes,
      double recomputeMs,
      long recomputeLayerPositions,
      boolean forced) {
    @Override
    public String toString() {
      return String.format(
          java.util.Locale.ROOT,
          "%s%s (transfer %d B ~%.2f ms; recompute, sending %d B, ~%.2f ms)",
          method == SwitchMethod.SWITCH_METHOD_RECOMPUTE ? "recompute" : "transfer",
          forced ? " [forced]" : "",
          transferBytes,
          transferMs,
          recomputeBytes,
          recomputeMs);
    }
  }

  private final Config config;
  private double bytesPerSecond;
  private double nanosPerLayerPosition;

  public SwitchCostModel(Config config) {
    this.config = config;
    this.bytesPerSecond = config.linkBytesPerSecond();
    this.nanosPerLayerPosition = config.nanosPerLayerPosition();
  }

  /**
   * Costs of a switch that moves {@code movedLayers} layers at {@code positions} positions of
   * context; {@code rerunLayers} layers the UE re-runs first under recompute; {@code hiddenBytes}
   * bytes of hidden states recompute sends (0 when the UE gains); {@code ueGains}: the UE gains the
   * layers (split moves up).
   */
  public Estimate choose(
      int movedLayers,
      int rerunLayers,
      int positions,
      int kvWidth,
      long hiddenBytes,
      boolean ueGains) {
    long transferBytes = (long) movedLayers * positions * 2L * kvWidth * Float.BYTES;
    boolean known = bytesPerSecond > 0;
    double transferMs = known ? transferBytes / bytesPerSecond * 1e3 : Double.NaN;
    double recomputeMs =
        (double) (movedLayers + rerunLayers) * positions * nanosPerLayerPosition / 1e6
            + (known ? hiddenBytes / bytesPerSecond * 1e3 : 0);
    SwitchMethod m;
    if (config.forced() != null) {
      m = config.forced();
    } else if (ueGains && config.cleanUeKv()) {
      m = SwitchMethod.SWITCH_METHOD_RECOMPUTE;
    } else if (!known) {
      m = SwitchMethod.SWITCH_METHOD_KV_TRANSFER;
    } else {
      m =
          recomputeMs < transferMs
              ? SwitchMethod.SWITCH_METHOD_RECOMPUTE
              : SwitchMethod.SWITCH_METHOD_KV_TRANSFER;
    }
    return new Estimate(
        m,
        transferBytes,
        transferMs,
        hiddenBytes,
        recomputeMs,
        (long) (movedLayers + rerunLayers) * positions,
        config.forced() != null);
  }

  /** A transfer of {@code bytes} that took {@code nanos} on the link. */
  public void observeLink(long bytes, long nanos) {
    if (bytes > 0 && nanos > 0) {
      double obs = bytes / (nanos / 1e9);
      bytesPerSecond = bytesPerSecond > 0 ? mix(bytesPerSecond, obs) : obs;
    }
  }

  /** A run of {@code layers} layers over {@code positions} positions (> 1) took {@code nanos}. */
  public void observeCompute(int layers, int positions, long nanos) {
    if (layers > 0 && positions > 1 && nanos > 0) {
      nanosPerLayerPosition = mix(nanosPerLayerPosition, (double) nanos / layers / positions);
    }
  }

  public double bytesPerSecond() {
    return bytesPerSecond;
  }

  public double nanosPerLayerPosition() {
    return nanosPerLayerPosition;
  }

  private double mix(double old, double obs) {
    return (1 - config.alpha()) * old + config.alpha() * obs;
  }
}
