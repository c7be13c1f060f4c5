package io.splitinfer.controller.live;

import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.core.channel.Scenario;
import java.util.List;
import java.util.Locale;

/**
 * The time-varying channels of the online experiment, as core {@link Scenario} JSON with {@code
 * "clock": "messages"} (one tick per uplink hidden-state message, so the same seed and the same
 * traffic give every policy the same channel). Both combine the three ingredients the issue asks
 * for: piecewise segments whose loss is drawn from the paper's cases L (U(0, 0.1)), H (U(0.1, 0.3))
 * and A (U(0, 0.3)) and whose σ is drawn per segment, a Gaussian random walk on σ, and
 * Gilbert-Elliott bursts. The receiver follows the measured PPL table's convention (unit-power
 * Rayleigh, h_th from the loss, equalizing receiver, zero-fill), and σ is absolute, in the model's
 * hidden-state units, within the policy's training range [0, 8].
 *
 * <ul>
 *   <li>{@code drift}: long segments (L, H, A in turn, σ ~ U(0, 8)), a slow σ walk, rare short
 *       bursts (loss 0.3);
 *   <li>{@code bursty}: segments a third as long alternating calm (σ ~ U(0, 2)) and noisy (σ ~ U(4,
 *       8)), a faster walk, frequent bursts (σ 7, loss 0.2);
 *   <li>{@code mobility}: a UE moving between the cell centre and the cell edge: segments 4/3 as
 *       long as drift's alternating near (σ ~ U(0, 1.5)) and edge (σ ~ U(5, 8)), losses of L, H, A
 *       in turn, a slow walk (0.05/step), rare bursts (loss 0.3). The regimes last longer than the
 *       control loop's lag (a few steps), as shadowing and distance do on a real cell; bursty's
 *       16-step regimes and 7-step bursts are at that lag, where no feedback controller can follow.
 * </ul>
 */
public final class LiveScenarios {
  public static final List<String> NAMES = List.of("drift", "bursty", "mobility");

  private LiveScenarios() {}

  /**
   * The JSON of a named scenario.
   *
   * @param segmentTicks length of a drift segment in ticks (bursty uses a third of it, ≥ 1)
   */
  public static String json(String name, int segmentTicks) {
    if (segmentTicks < 1) {
      throw new IllegalArgumentException("segment ticks must be >= 1, got " + segmentTicks);
    }
    String base =
        "\"base\": {\"fading\": \"RAYLEIGH\", \"sigmaH\": 0.7071067811865476, \"sigma\": 0,"
            + " \"receiver\": \"EQUALIZED\", \"lossPolicy\": \"ZERO_FILL\"}";
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "drift" -> {
        int d = segmentTicks;
        yield String.format(
            Locale.ROOT,
            "{\"name\": \"drift\", \"clock\": \"messages\", \"repeat\": true, %s,"
                + " \"segments\": ["
                + "{\"duration\": %d, \"lossRange\": [0, 0.1], \"sigmaRange\": [0, 8]},"
                + "{\"duration\": %d, \"lossRange\": [0.1, 0.3], \"sigmaRange\": [0, 8]},"
                + "{\"duration\": %d, \"lossRange\": [0, 0.3], \"sigmaRange\": [0, 8]}],"
                + " \"gilbertElliott\": {\"pGoodToBad\": 0.01, \"pBadToGood\": 0.2,"
                + " \"bad\": {\"loss\": 0.3}},"
                + " \"randomWalk\": {\"sigmaStep\": 0.1, \"sigmaMin\": 0, \"sigmaMax\": 8}}",
            base,
            d,
            d,
            d);
      }
      case "bursty" -> {
        int d = Math.max(1, segmentTicks / 3);
        yield String.format(
            Locale.ROOT,
            "{\"name\": \"bursty\", \"clock\": \"messages\", \"repeat\": true, %s,"
                + " \"segments\": ["
                + "{\"duration\": %d, \"lossRange\": [0, 0.1], \"sigmaRange\": [0, 2]},"
                + "{\"duration\": %d, \"lossRange\": [0.1, 0.3], \"sigmaRange\": [4, 8]},"
                + "{\"duration\": %d, \"lossRange\": [0, 0.3], \"sigmaRange\": [0, 2]},"
                + "{\"duration\": %d, \"lossRange\": [0, 0.1], \"sigmaRange\": [4, 8]}],"
                + " \"gilbertElliott\": {\"pGoodToBad\": 0.03, \"pBadToGood\": 0.15,"
                + " \"bad\": {\"sigma\": 7, \"loss\": 0.2}},"
                + " \"randomWalk\": {\"sigmaStep\": 0.25, \"sigmaMin\": 0, \"sigmaMax\": 8}}",
            base,
            d,
            d,
            d,
            d);
      }
      case "mobility" -> {
        int d = Math.max(1, segmentTicks * 4 / 3);
        yield String.format(
            Locale.ROOT,
            "{\"name\": \"mobility\", \"clock\": \"messages\", \"repeat\": true, %s,"
                + " \"segments\": ["
                + "{\"duration\": %d, \"lossRange\": [0, 0.1], \"sigmaRange\": [0, 1.5]},"
                + "{\"duration\": %d, \"lossRange\": [0.1, 0.3], \"sigmaRange\": [5, 8]},"
                + "{\"duration\": %d, \"lossRange\": [0, 0.3], \"sigmaRange\": [0, 1.5]},"
                + "{\"duration\": %d, \"lossRange\": [0, 0.1], \"sigmaRange\": [5, 8]},"
                + "{\"duration\": %d, \"lossRange\": [0.1, 0.3], \"sigmaRange\": [0, 1.5]},"
                + "{\"duration\": %d, \"lossRange\": [0, 0.3], \"sigmaRange\": [5, 8]}],"
                + " \"gilbertElliott\": {\"pGoodToBad\": 0.005, \"pBadToGood\": 0.2,"
                + " \"bad\": {\"loss\": 0.3}},"
                + " \"randomWalk\": {\"sigmaStep\": 0.05, \"sigmaMin\": 0, \"sigmaMax\": 8}}",
            base,
            d,
            d,
            d,
            d,
            d,
            d);
      }
      default ->
          throw new IllegalArgumentException(
              "unknown live scenario '" + name + "' (available " + NAMES + ")");
    };
  }

  /** The true channel at one tick: absolute σ and P_loss (eq. 4). */
  public record Truth(double sigma, double loss) {}

  /**
   * The channel channel-sim applies to hidden-state messages 1..n after {@code LoadScenario(json,
   * seed)}: tick 0 is the load, message k is tick k. Replayed in-process from the same core
   * Scenario code, so it is exact when the scenario sets σ, σ_h and the loss itself (ours do).
   *
   * @return entry k-1 is message k
   */
  public static Truth[] replay(String json, long seed, int n) {
    Scenario.Cursor c =
        Scenario.fromJson(json).start(ChannelParams.builder().seed(seed).build(), seed);
    c.advance();
    Truth[] out = new Truth[n];
    for (int k = 0; k < n; k++) {
      ChannelParams p = c.advance();
      out[k] = new Truth(p.useSnr() ? Double.NaN : p.sigma(), p.expectedLoss());
    }
    return out;
  }
}
