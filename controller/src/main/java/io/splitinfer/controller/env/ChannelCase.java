package io.splitinfer.controller.env;

import java.util.Locale;

/**
 * The paper's three training/evaluation cases (Sec. V-A), defined on LLaMA2-7B's 32 layers:
 *
 * <ul>
 *   <li>L: packet-loss probability 0–0.1, initial split in layers 1–5 (near the input);
 *   <li>H: packet-loss probability 0.1–0.3, initial split in layers 6–10;
 *   <li>A: packet-loss probability 0–0.3, initial split in layers 1–10;
 *   <li>S (ours, for the service): as A, initial split anywhere in [pMin, pMax].
 * </ul>
 *
 * <p><b>Mapping onto a model with L layers.</b> The initial-split ranges scale by L/32 and round to
 * the nearest layer, clamped to [pMin, pMax] and at least one layer wide: {@code lo' = round(lo ·
 * L/32)}, {@code hi' = round(hi · L/32)}. For a 22-layer model: L → 1–3, H → 4–7, A → 1–7. The loss
 * range is kept as is; it maps to σ_h through eq. 4 ({@link ChannelDraw#sigmaHForLoss}).
 */
public enum ChannelCase {
  L(0.0, 0.1, 1, 5),
  H(0.1, 0.3, 6, 10),
  A(0.0, 0.3, 1, 10),
  /**
   * Not in the paper: case A's loss range with the initial split anywhere in [pMin, pMax], for the
   * live service, which keeps stepping from wherever the split is (a policy trained only from
   * splits 1–10 of 32 never sees a late split at low σ and does not learn to come back down).
   */
  S(0.0, 0.3, 0, 32);

  /** Layers of the paper's model (LLaMA2-7B). */
  public static final int PAPER_LAYERS = 32;

  private final double lossMin;
  private final double lossMax;
  private final int paperInitMin;
  private final int paperInitMax;

  ChannelCase(double lossMin, double lossMax, int paperInitMin, int paperInitMax) {
    this.lossMin = lossMin;
    this.lossMax = lossMax;
    this.paperInitMin = paperInitMin;
    this.paperInitMax = paperInitMax;
  }

  public double lossMin() {
    return lossMin;
  }

  public double lossMax() {
    return lossMax;
  }

  /** The initial-split range [lo, hi] on a model with {@code numLayers} layers, within bounds. */
  public int[] initialSplits(int numLayers, int pMin, int pMax) {
    double scale = (double) numLayers / PAPER_LAYERS;
    int lo = clamp((int) Math.round(paperInitMin * scale), pMin, pMax);
    int hi = clamp((int) Math.round(paperInitMax * scale), pMin, pMax);
    return new int[] {lo, Math.max(lo, hi)};
  }

  private static int clamp(int v, int lo, int hi) {
    return Math.max(lo, Math.min(hi, v));
  }

  public static ChannelCase parse(String s) {
    return valueOf(s.trim().toUpperCase(Locale.ROOT));
  }
}
