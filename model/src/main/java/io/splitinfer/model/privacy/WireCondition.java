package io.splitinfer.model.privacy;

import io.splitinfer.core.channel.ChannelModel;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.DType;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * What happens to a hidden state [T, d] between the UE's layer p and the attacker's eyes, in the
 * order it happens on the real path:
 *
 * <ol>
 *   <li>UE defence: i.i.d. Gaussian noise N(0, σ_d²) added to every value before sending ({@code
 *       defenceSigma}, 0 = none);
 *   <li>wire dtype: f32, or int8 through {@link TensorCodec} (per-message scale max|y|/127, encode
 *       + decode round trip);
 *   <li>uplink channel: AWGN of absolute σ through core's {@link ChannelModel} (no fading, no loss;
 *       {@code channelSigma}, 0 = a clean link).
 * </ol>
 *
 * The attacker sees the result (an honest-but-curious edge, or an eavesdropper after the channel).
 *
 * @param name label in tables and plots
 * @param channelSigma AWGN σ of the uplink (hidden-state units)
 * @param defenceSigma σ of the Gaussian noise the UE adds itself
 * @param int8 whether the UE sends the int8 wire dtype
 */
public record WireCondition(String name, double channelSigma, double defenceSigma, boolean int8) {
  public WireCondition {
    if (!(channelSigma >= 0) || !(defenceSigma >= 0)) {
      throw new IllegalArgumentException(
          "sigmas must be >= 0: " + channelSigma + ", " + defenceSigma);
    }
  }

  public static WireCondition clean() {
    return new WireCondition("clean", 0, 0, false);
  }

  public static WireCondition channel(double sigma) {
    return new WireCondition(
        String.format(Locale.ROOT, "channel-sigma-%s", fmt(sigma)), sigma, 0, false);
  }

  public static WireCondition defence(double sigma) {
    return new WireCondition(
        String.format(Locale.ROOT, "defence-sigma-%s", fmt(sigma)), 0, sigma, false);
  }

  public static WireCondition int8Wire() {
    return new WireCondition("int8", 0, 0, true);
  }

  static String fmt(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }

  public boolean isClean() {
    return channelSigma == 0 && defenceSigma == 0 && !int8;
  }

  /**
   * The values the attacker observes for one message {@code h} ([tokens, d], not modified), with
   * every random draw from {@code seed}.
   */
  public float[] observe(float[] h, int tokens, int d, long seed) {
    float[] y = h.clone();
    if (defenceSigma > 0) {
      SplittableRandom r = new SplittableRandom(seed ^ 0x9E3779B97F4A7C15L);
      for (int i = 0; i < y.length; i++) {
        y[i] += (float) (defenceSigma * r.nextGaussian());
      }
    }
    if (int8) {
      y = TensorCodec.decode(TensorCodec.encode(y, DType.DTYPE_INT8, tokens, d));
    }
    if (channelSigma > 0) {
      ChannelParams p =
          ChannelParams.builder()
              .sigma(channelSigma)
              .fading(ChannelParams.Fading.NONE)
              .seed(seed)
              .build();
      new ChannelModel(p)
          .impair(y, TensorCodec.bytesPerElement(int8 ? DType.DTYPE_INT8 : DType.DTYPE_F32));
    }
    return y;
  }
}
