package io.splitinfer.core.channel;

import java.util.SplittableRandom;

/**
 * The known pilot vector of a {@code splitinfer.v1.Pilot} message: BPSK symbols ±1 (unit power)
 * drawn from a {@link SplittableRandom} seeded with {@code seed}. Sender and receiver compute the
 * same vector from (seed, length) alone, so only those two travel with the pilot.
 */
public record PilotSequence(long seed, int length) {
  public PilotSequence {
    if (length < 0) {
      throw new IllegalArgumentException("pilot length must be >= 0, got " + length);
    }
  }

  /** The symbols, freshly computed. */
  public float[] values() {
    return values(seed, length);
  }

  /** The symbols of the pilot with this seed and length. */
  public static float[] values(long seed, int length) {
    SplittableRandom rng = new SplittableRandom(seed);
    float[] v = new float[length];
    for (int i = 0; i < length; i++) {
      v[i] = rng.nextBoolean() ? 1f : -1f;
    }
    return v;
  }
}
