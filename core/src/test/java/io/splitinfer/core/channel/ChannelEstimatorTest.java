package io.splitinfer.core.channel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.core.channel.ChannelParams.Fading;
import io.splitinfer.core.channel.ChannelParams.LossPolicy;
import io.splitinfer.core.channel.ChannelParams.Receiver;
import org.junit.jupiter.api.Test;

class ChannelEstimatorTest {
  private static ChannelEstimator.Estimate run(ChannelParams p, int pilots, int length) {
    ChannelModel m = new ChannelModel(p);
    ChannelEstimator est = new ChannelEstimator();
    ChannelEstimator.Estimate e = null;
    int per = ChannelModel.packetElements(p.packetPayloadBytes(), 4);
    for (int i = 0; i < pilots; i++) {
      long seed = 1000 + i;
      float[] rx = PilotSequence.values(seed, length);
      Impairment imp = m.impair(rx, 0, rx.length, 4, Receiver.RAW);
      e = est.observePilot(seed, rx, per, imp.erasureMask());
    }
    return e;
  }

  @Test
  void pilotSequenceIsDeterministicBpsk() {
    float[] a = new PilotSequence(7, 1000).values();
    assertArrayEquals(a, PilotSequence.values(7, 1000));
    double power = 0;
    for (float x : a) {
      assertEquals(1f, Math.abs(x));
      power += x * x;
    }
    assertEquals(1.0, power / a.length);
  }

  @Test
  void estimatesSigmaSigmaHAndLossFromRayleighPilots() {
    double sigma = 0.1;
    double sigmaH = 0.9;
    double loss = 0.1;
    ChannelParams p =
        ChannelParams.builder()
            .sigma(sigma)
            .fading(Fading.RAYLEIGH)
            .sigmaH(sigmaH)
            .lossProbability(loss)
            .seed(21)
            .build();
    // 20 pilots x 70,000 values = 4,000 packets of 350 (the whole window)
    ChannelEstimator.Estimate e = run(p, 20, 70_000);
    assertEquals(4000, e.windowPackets());
    // σ̂ from ≈ 1.3M residual degrees of freedom: relative sd ≈ 0.06 %; bound 2 %
    assertEquals(sigma, e.sigma(), 0.02 * sigma);
    // loss: binomial, n = 4000, sd ≈ 0.0047; bound 4 sd
    assertEquals(loss, e.lossRate(), 4 * Math.sqrt(loss * (1 - loss) / 4000));
    // σ_h from ≈ 3600 exponential h² samples: relative sd of θ̂ ≈ 1.7 %, of σ̂_h ≈ 0.9 %,
    // plus the propagated loss-rate error; bound 5 %
    assertEquals(sigmaH, e.gainScale(), 0.05 * sigmaH);
    // transmit SNR of a unit-power pilot: 20 dB
    assertEquals(20, e.snrDb(), 0.2);
    assertEquals(20, e.pilots());
  }

  @Test
  void erasureMaskIsUsedAndAwgnReadsAsUnitGain() {
    ChannelParams p =
        ChannelParams.builder()
            .fading(Fading.RAYLEIGH)
            .lossProbability(0.25)
            .lossPolicy(LossPolicy.ERASURE)
            .snrDb(10)
            .seed(22)
            .build();
    ChannelEstimator.Estimate e = run(p, 10, 35_000);
    assertEquals(0.25, e.lossRate(), 4 * Math.sqrt(0.25 * 0.75 / 1000));
    assertEquals(10, e.snrDb(), 0.2);
    ChannelEstimator.Estimate awgn =
        run(ChannelParams.builder().sigma(0.05).seed(3).build(), 4, 7000);
    assertEquals(0, awgn.lossRate());
    assertEquals(1.0, awgn.meanGain(), 0.01);
    assertEquals(ChannelParams.UNIT_POWER_SIGMA_H, awgn.gainScale(), 0.01);
    assertEquals(0.05, awgn.sigma(), 0.002);
  }

  @Test
  void windowForgetsOldPacketsAndInputsAreChecked() {
    ChannelEstimator est = new ChannelEstimator(10);
    float[] x = PilotSequence.values(1, 100);
    float[] zeros = new float[100];
    est.observe(zeros, x, 10, null); // 10 lost packets
    assertEquals(1.0, est.estimate().lossRate());
    est.observe(x.clone(), x, 10, null); // 10 perfect packets replace them
    assertEquals(0.0, est.estimate().lossRate());
    assertEquals(20, est.estimate().packetsTotal());
    assertEquals(0, est.estimate().sigma());
    assertTrue(Double.isInfinite(est.estimate().snrDb()));
    assertThrows(IllegalArgumentException.class, () -> est.observe(new float[3], x, 10, null));
    assertThrows(IllegalArgumentException.class, () -> est.observe(x, x, 0, null));
  }

  @Test
  void hiddenStatesCountForLossAndDrainReportsEachPacketOnce() {
    long[] now = {1000};
    ChannelEstimator est = new ChannelEstimator(100, () -> now[0]);
    float[] x = PilotSequence.values(3, 20);
    est.observe(x.clone(), x, 10, null); // 2 delivered pilot packets, σ = 0
    float[] hidden = new float[40];
    java.util.Arrays.fill(hidden, 0.5f);
    java.util.Arrays.fill(hidden, 10, 20, 0f); // packet 1 zero-filled
    assertEquals(1, est.observeHidden(hidden, 10, null));
    float[] h2 = new float[20];
    java.util.Arrays.fill(h2, 1f);
    assertEquals(1, est.observeHidden(h2, 10, new byte[] {0b10})); // packet 1 erased by mask
    now[0] = 1250;
    ChannelState w = est.estimate().state();
    assertEquals(8, w.evidence().packetsSeen());
    assertEquals(2, w.evidence().packetsLost());
    assertEquals(0.25, w.loss());
    assertEquals(0.0, w.sigma());
    assertEquals(18, w.evidence().sigmaDof());
    assertEquals(250, w.evidence().windowMs());
    ChannelState d = est.drain();
    assertEquals(w.evidence(), d.evidence());
    ChannelState empty = est.drain();
    assertEquals(0, empty.evidence().packetsSeen());
    assertTrue(Double.isNaN(empty.sigma()));
  }
}
