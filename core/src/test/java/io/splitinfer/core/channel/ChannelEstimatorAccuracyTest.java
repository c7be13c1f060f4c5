package io.splitinfer.core.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.core.channel.ChannelParams.Fading;
import io.splitinfer.core.channel.ChannelParams.LossPolicy;
import io.splitinfer.core.channel.ChannelParams.Receiver;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.provider.Arguments;

/**
 * Estimator accuracy on normal traffic: a 32-token prefill and 64 decode steps of hidden states of
 * the default model's width (d = 256, f32 on the wire, so 350 elements per 1400-byte packet),
 * through {@link ChannelModel}, with a 1024-symbol f32 pilot every 8 decode steps (the UE's {@code
 * --pilot-every 8 --pilot-length 1024}). After the 64 steps σ̂ is within 10 % of σ (0.001 absolute
 * at σ = 0) and the true P lies in the 95 % Wilson interval of the lost/seen counts.
 *
 * <p>Grid: σ ∈ {0, 2, 6, 12} × (Rayleigh fading with P ∈ {0, 0.05, 0.2}, or no fading). Without
 * fading h ≡ 1 and eq. 4 gives P ∈ {0, 1} only, so the unfaded cases have P = 0. The loss policy
 * alternates between zero-fill (lost packets found as all-zero packets) and erasure (mask bits).
 */
class ChannelEstimatorAccuracyTest {
  static final int D = 256;
  static final int PROMPT = 32;
  static final int STEPS = 64;
  static final int PILOT_EVERY = 8;
  static final int PILOT_LENGTH = 1024;

  static Stream<Arguments> grid() {
    List<Arguments> cases = new ArrayList<>();
    double[] sigmas = {0, 2, 6, 12};
    for (int i = 0; i < sigmas.length; i++) {
      LossPolicy lp = i % 2 == 0 ? LossPolicy.ZERO_FILL : LossPolicy.ERASURE;
      for (double loss : new double[] {0, 0.05, 0.2}) {
        cases.add(Arguments.of(sigmas[i], Fading.RAYLEIGH, loss, lp));
      }
      cases.add(Arguments.of(sigmas[i], Fading.NONE, 0.0, lp));
    }
    return cases.stream();
  }

  @Test
  void estimateIsAccurateAfter64DecodeSteps() {
    int misses = 0;
    StringBuilder table = new StringBuilder("sigma fading   P     | sigma^  seen lost  95% CI\n");
    for (Arguments a : grid().toList()) {
      Object[] c = a.get();
      ChannelState s = run((Double) c[0], (Fading) c[1], (Double) c[2], (LossPolicy) c[3]);
      double sigma = (Double) c[0];
      double loss = (Double) c[2];
      ChannelState.Evidence ev = s.evidence();
      BinomialInterval ci = BinomialInterval.wilson95(ev.packetsLost(), ev.packetsSeen());
      table.append(
          String.format(
              "%5.1f %-8s %.2f | %6.3f %5d %4d [%.3f, %.3f]%n",
              sigma,
              c[1],
              loss,
              s.sigma(),
              ev.packetsSeen(),
              ev.packetsLost(),
              ci.low(),
              ci.high()));
      double tol = sigma == 0 ? 1e-3 : 0.10 * sigma;
      assertEquals(sigma, s.sigma(), tol, "σ̂ with evidence " + ev);
      BinomialInterval wide = BinomialInterval.wilson(ev.packetsLost(), ev.packetsSeen(), 3.2905);
      assertTrue(wide.contains(loss), "P = " + loss + " not in the 99.9 % interval " + wide);
      if (!ci.contains(loss)) {
        misses++;
      }
    }
    System.out.print(table);
    assertTrue(misses <= 2, misses + " of 12 lossy cases outside their 95 % interval\n" + table);
  }

  private static ChannelState run(double sigma, Fading fading, double loss, LossPolicy lossPolicy) {
    long seed = 1000L + (long) (sigma * 100) + (long) (loss * 1000) + fading.ordinal();
    ChannelParams.Builder b =
        ChannelParams.builder().sigma(sigma).fading(fading).lossPolicy(lossPolicy).seed(seed);
    if (fading != Fading.NONE) {
      b.sigmaH(0.7943);
      if (loss > 0) {
        b.lossProbability(loss);
      }
    }
    ChannelParams p = b.build();
    ChannelState truth = ChannelState.groundTruth(p);
    assertEquals(loss, truth.loss(), 1e-9);

    ChannelModel channel = new ChannelModel(p);
    ChannelEstimator est = new ChannelEstimator();
    SplittableRandom traffic = new SplittableRandom(seed ^ 0x5eed);
    int per = ChannelModel.packetElements(p.packetPayloadBytes(), 4);
    long pilotSeq = 0;
    sendHidden(channel, est, traffic, PROMPT, per);
    for (int step = 0; step < STEPS; step++) {
      if (step % PILOT_EVERY == 0) {
        long ps = seed * 31 + pilotSeq++;
        float[] x = PilotSequence.values(ps, PILOT_LENGTH);
        Impairment imp = channel.impair(x, 0, x.length, 4, Receiver.RAW);
        est.observePilot(ps, x, per, imp.erasureMask());
      }
      sendHidden(channel, est, traffic, 1, per);
    }
    ChannelState s = est.estimate().state();
    assertEquals(STEPS / PILOT_EVERY, s.evidence().pilots());
    return s;
  }

  /** Hidden states of {@code rows} tokens (values ~ N(0, 1)) through the channel. */
  private static void sendHidden(
      ChannelModel channel, ChannelEstimator est, SplittableRandom rng, int rows, int per) {
    float[] h = new float[rows * D];
    for (int i = 0; i < h.length; i++) {
      h[i] = (float) rng.nextGaussian();
    }
    Impairment imp = channel.impair(h, 4);
    est.observeHidden(h, per, imp.erasureMask());
  }
}
