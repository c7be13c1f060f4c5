package io.splitinfer.channelsim;

import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.core.channel.Scenario;

/**
 * Bounds on channel parameters that channel-sim accepts from its flags and its control API, beyond
 * {@link ChannelParams}'s own checks (finite, non-negative). A finite but absurd value would be
 * accepted there and then break every proxied session (σ = 1e308 turns every hidden state into
 * infinities, a delay of 1e300 ms holds a call forever), so these are refused up front with a
 * message naming the field and the bound. A scenario is checked over its whole reach: its base,
 * every segment's overrides and range ends, the Gilbert-Elliott bad state, the random walks'
 * bounds, and {@value #SCENARIO_PROBE_TICKS} ticks of an actual run.
 */
final class ChannelLimits {
  /** Largest absolute noise σ: 65σ stays under the float16 maximum (65504). */
  static final double MAX_SIGMA = 1_000;

  /** SNR range in dB; −30 dB is noise 31.6 times the signal's RMS. */
  static final double MIN_SNR_DB = -30;

  static final double MAX_SNR_DB = 300;

  /** Largest Rayleigh scale σ_h (unit mean power is 0.707). */
  static final double MAX_SIGMA_H = 100;

  /** Largest |h_th| (beyond ~10 σ_h every packet is lost anyway). */
  static final double MAX_H_THRESHOLD = 1_000;

  /** Largest one-way delay, jitter or retransmission round trip, in ms. */
  static final double MAX_DELAY_MS = 60_000;

  /** Slowest and fastest non-zero link rate, bits per second. */
  static final double MIN_RATE_BPS = 1_000;

  static final double MAX_RATE_BPS = 1e12;

  /** Largest link queue. */
  static final long MAX_QUEUE_BYTES = 1L << 30;

  /** Ticks of a scenario run that {@link #check(Scenario, ChannelParams, long)} replays. */
  static final int SCENARIO_PROBE_TICKS = 1000;

  private ChannelLimits() {}

  /** Refuses parameters outside the bounds (IllegalArgumentException naming the field). */
  static ChannelParams check(ChannelParams p) {
    if (!p.useSnr()) {
      atMost("sigma", p.sigma(), MAX_SIGMA);
    } else {
      within("snrDb", p.snrDb(), MIN_SNR_DB, MAX_SNR_DB);
    }
    atMost("sigmaH", p.sigmaH(), MAX_SIGMA_H);
    within("hThreshold", p.hThreshold(), -MAX_H_THRESHOLD, MAX_H_THRESHOLD);
    within("rttMs", p.rttMs(), -MAX_DELAY_MS, MAX_DELAY_MS);
    link("uplink", p.uplink());
    link("downlink", p.downlink());
    return p;
  }

  /** Refuses a scenario that can reach parameters outside the bounds, over {@code base}. */
  static Scenario check(Scenario s, ChannelParams base, long seed) {
    Scenario.Spec spec = s.spec();
    ChannelParams b = Scenario.apply(base, spec.base());
    check(b);
    int i = 0;
    for (Scenario.Segment seg : spec.segments()) {
      String where = "segment " + i++ + ": ";
      try {
        ChannelParams sp = Scenario.apply(b, seg.set());
        check(sp);
        if (spec.gilbertElliott() != null) {
          check(Scenario.apply(sp, spec.gilbertElliott().bad()));
        }
        if (seg.sigmaRange() != null) {
          atMost("sigmaRange", seg.sigmaRange()[1], MAX_SIGMA);
        }
        if (seg.snrDbRange() != null) {
          within("snrDbRange", seg.snrDbRange()[0], MIN_SNR_DB, MAX_SNR_DB);
          within("snrDbRange", seg.snrDbRange()[1], MIN_SNR_DB, MAX_SNR_DB);
        }
        if (seg.sigmaHRange() != null) {
          atMost("sigmaHRange", seg.sigmaHRange()[1], MAX_SIGMA_H);
        }
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(where + e.getMessage(), e);
      }
    }
    if (spec.gilbertElliott() != null) {
      check(Scenario.apply(b, spec.gilbertElliott().bad()));
    }
    Scenario.RandomWalk w = spec.randomWalk();
    if (w != null) {
      if (w.sigmaStep() > 0) {
        atMost("randomWalk.sigmaMax", w.sigmaMax(), MAX_SIGMA);
      }
      if (w.snrDbStep() > 0) {
        within("randomWalk.snrDbMin", w.snrDbMin(), MIN_SNR_DB, MAX_SNR_DB);
        within("randomWalk.snrDbMax", w.snrDbMax(), MIN_SNR_DB, MAX_SNR_DB);
      }
      if (w.sigmaHStep() > 0) {
        atMost("randomWalk.sigmaHMax", w.sigmaHMax(), MAX_SIGMA_H);
      }
    }
    Scenario.Cursor c = s.start(base, seed);
    for (int t = 0; t < SCENARIO_PROBE_TICKS; t++) {
      ChannelParams p = c.advance();
      try {
        check(p);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("at tick " + (t + 1) + ": " + e.getMessage(), e);
      }
    }
    return s;
  }

  private static void link(String name, ChannelParams.LinkShape s) {
    atMost(name + ".delayMs", s.delayMs(), MAX_DELAY_MS);
    atMost(name + ".jitterMs", s.jitterMs(), MAX_DELAY_MS);
    if (s.rateBps() != 0) {
      within(name + ".rateBps", s.rateBps(), MIN_RATE_BPS, MAX_RATE_BPS);
    }
    if (s.queueBytes() > MAX_QUEUE_BYTES) {
      throw new IllegalArgumentException(
          name + ".queueBytes must be <= " + MAX_QUEUE_BYTES + ", got " + s.queueBytes());
    }
  }

  private static void atMost(String name, double v, double max) {
    if (!Double.isFinite(v) || v > max) {
      throw new IllegalArgumentException(name + " must be finite and <= " + max + ", got " + v);
    }
  }

  private static void within(String name, double v, double min, double max) {
    if (!Double.isFinite(v) || v < min || v > max) {
      throw new IllegalArgumentException(name + " must be in [" + min + ", " + max + "], got " + v);
    }
  }
}
