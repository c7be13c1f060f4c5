package io.splitinfer.core.channel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.core.channel.ChannelParams.Fading;
import io.splitinfer.core.channel.ChannelParams.LossPolicy;
import io.splitinfer.core.channel.ChannelParams.Receiver;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.apache.commons.math3.distribution.ChiSquaredDistribution;
import org.apache.commons.math3.distribution.WeibullDistribution;
import org.apache.commons.math3.stat.inference.KolmogorovSmirnovTest;
import org.junit.jupiter.api.Test;

/**
 * Statistics are tested as statistics: every bound states its confidence, and every random source
 * has a fixed seed so a failure replays.
 */
class ChannelModelTest {
  /** Two-sided normal quantile for alpha = 1e-4 (a seeded test then fails ~never by chance). */
  private static final double Z = 3.89;

  private static float[] gaussian(int n, double sd, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (sd * r.nextGaussian());
    }
    return v;
  }

  @Test
  void awgnNoiseHasZeroMeanAndVarianceSigmaSquared() {
    double sigma = 0.5;
    int n = 200_000;
    ChannelModel m = new ChannelModel(ChannelParams.builder().sigma(sigma).seed(11).build());
    float[] v = new float[n];
    Impairment imp = m.impair(v, 4);
    assertEquals(0, imp.packetsLost());
    assertEquals((n + 349) / 350, imp.packets());
    double mean = Arrays.stream(toDouble(v)).average().orElseThrow();
    // mean of n N(0, σ²) draws: |mean| < Z σ / √n at alpha 1e-4
    assertTrue(Math.abs(mean) < Z * sigma / Math.sqrt(n), "mean " + mean);
    double ss = 0;
    for (float x : v) {
      ss += (x - mean) * (x - mean);
    }
    // (n-1) s² / σ² ~ χ²(n-1): two-sided 0.001 acceptance interval
    ChiSquaredDistribution chi = new ChiSquaredDistribution(n - 1);
    double stat = ss / (sigma * sigma);
    assertTrue(stat > chi.inverseCumulativeProbability(0.0005), "variance too low " + stat);
    assertTrue(stat < chi.inverseCumulativeProbability(0.9995), "variance too high " + stat);
  }

  @Test
  void snrModeScalesNoiseToMeasuredSignalPower() {
    float[] v = gaussian(100_000, 3.0, 1);
    double power = Arrays.stream(toDouble(v)).map(x -> x * x).average().orElseThrow();
    ChannelModel m = new ChannelModel(ChannelParams.builder().snrDb(10).seed(2).build());
    Impairment imp = m.impair(v, 4);
    assertEquals(Math.sqrt(power / 10), imp.noiseSigma(), 1e-9);
    // delivered SNR = 10 dB; error energy is χ² with n dof: relative sd √(2/n) = 0.45% = 0.02 dB
    assertEquals(10.0, imp.deliveredSnrDb(), 0.1);
  }

  @Test
  void rayleighGainsPassKolmogorovSmirnov() {
    double sigmaH = 0.8;
    // 4-byte payload, f32: one element per packet, so each output value is that packet's h.
    ChannelParams p =
        ChannelParams.builder()
            .fading(Fading.RAYLEIGH)
            .sigmaH(sigmaH)
            .packetPayloadBytes(4)
            .seed(3)
            .build();
    float[] v = new float[20_000];
    Arrays.fill(v, 1f);
    Impairment imp = new ChannelModel(p).impair(v, 4);
    assertEquals(20_000, imp.packets());
    // Rayleigh(σ) = Weibull(shape 2, scale σ√2)
    WeibullDistribution rayleigh = new WeibullDistribution(null, 2, sigmaH * Math.sqrt(2));
    double pValue = new KolmogorovSmirnovTest().kolmogorovSmirnovTest(rayleigh, toDouble(v));
    assertTrue(pValue > 0.001, "KS p-value " + pValue);
    // and a wrong scale is rejected
    WeibullDistribution wrong = new WeibullDistribution(null, 2, 0.9 * sigmaH * Math.sqrt(2));
    assertTrue(new KolmogorovSmirnovTest().kolmogorovSmirnovTest(wrong, toDouble(v)) < 0.001);
  }

  @Test
  void blockFadingHoldsGainForCoherenceTimeAcrossMessages() {
    ChannelParams p =
        ChannelParams.builder()
            .fading(Fading.BLOCK)
            .coherencePackets(10)
            .sigmaH(1)
            .packetPayloadBytes(4)
            .seed(4)
            .build();
    ChannelModel m = new ChannelModel(p);
    float[] all = new float[50_000];
    // messages of 7 packets so that blocks straddle message boundaries
    for (int off = 0; off < all.length; off += 7) {
      float[] msg = new float[Math.min(7, all.length - off)];
      Arrays.fill(msg, 1f);
      m.impair(msg, 4);
      System.arraycopy(msg, 0, all, off, msg.length);
    }
    double[] blocks = new double[all.length / 10];
    for (int b = 0; b < blocks.length; b++) {
      for (int i = 1; i < 10; i++) {
        assertEquals(all[b * 10], all[b * 10 + i], "block " + b);
      }
      blocks[b] = all[b * 10];
    }
    WeibullDistribution rayleigh = new WeibullDistribution(null, 2, Math.sqrt(2));
    assertTrue(new KolmogorovSmirnovTest().kolmogorovSmirnovTest(rayleigh, blocks) > 0.001);
  }

  @Test
  void lossRateMatchesEquationFourWithinBinomialBound() {
    for (double target : new double[] {0.05, 0.2, 0.5}) {
      double sigmaH = 0.6;
      double hTh = ChannelModel.thresholdForLoss(target, sigmaH);
      assertEquals(target, ChannelModel.lossProbability(hTh, sigmaH), 1e-12);
      ChannelParams p =
          ChannelParams.builder()
              .fading(Fading.RAYLEIGH)
              .sigmaH(sigmaH)
              .hThreshold(hTh)
              .packetPayloadBytes(16)
              .seed(5)
              .build();
      int n = 60_000;
      float[] v = new float[n * 4];
      Arrays.fill(v, 1f);
      Impairment imp = new ChannelModel(p).impair(v, 4);
      assertEquals(n, imp.packets());
      double rate = imp.packetsLost() / (double) n;
      double bound = Z * Math.sqrt(target * (1 - target) / n);
      assertEquals(target, rate, bound, "loss rate at p=" + target);
      assertEquals(target, p.expectedLoss(), 1e-12);
      int zeroPackets = 0;
      for (int k = 0; k < n; k++) {
        if (v[4 * k] == 0f) {
          assertEquals(0f, v[4 * k + 3]);
          zeroPackets++;
        }
      }
      assertEquals(imp.packetsLost(), zeroPackets);
    }
  }

  @Test
  void lossHelpersValidateAndInvert() {
    assertEquals(0, ChannelModel.lossProbability(0, 1));
    assertEquals(1 - Math.exp(-0.5), ChannelModel.lossProbability(1, 1), 1e-15);
    assertEquals(0, ChannelModel.thresholdForLoss(0, 1));
    assertThrows(IllegalArgumentException.class, () -> ChannelModel.thresholdForLoss(1, 1));
    assertThrows(IllegalArgumentException.class, () -> ChannelModel.lossProbability(1, 0));
    assertThrows(IllegalArgumentException.class, () -> ChannelParams.builder().sigma(-1).build());
    assertThrows(
        IllegalArgumentException.class, () -> ChannelParams.builder().downlinkLoss(1).build());
  }

  @Test
  void erasurePolicyMarksLostPacketsAndZeroFillDoesNot() {
    ChannelParams.Builder b =
        ChannelParams.builder()
            .fading(Fading.RAYLEIGH)
            .lossProbability(0.3)
            .packetPayloadBytes(40)
            .seed(6);
    float[] v = new float[10 * 1000];
    Arrays.fill(v, 2f);
    Impairment imp = new ChannelModel(b.lossPolicy(LossPolicy.ERASURE).build()).impair(v, 4);
    assertEquals(10, imp.packetElements());
    assertTrue(imp.packetsLost() > 0);
    assertEquals((imp.packets() + 7) / 8, imp.erasureMask().length);
    int marked = 0;
    for (int k = 0; k < imp.packets(); k++) {
      boolean zeros = v[k * 10] == 0f;
      assertEquals(zeros, imp.erased(k), "packet " + k);
      marked += imp.erased(k) ? 1 : 0;
    }
    assertEquals(imp.packetsLost(), marked);
    float[] w = new float[10 * 1000];
    Arrays.fill(w, 2f);
    Impairment zf = new ChannelModel(b.lossPolicy(LossPolicy.ZERO_FILL).build()).impair(w, 4);
    assertEquals(0, zf.erasureMask().length);
    assertEquals(imp.packetsLost(), zf.packetsLost(), "same seed, same draws");
  }

  @Test
  void retransmissionRedrawsGainAndChargesRoundTrips() {
    double p = 0.3;
    int maxRetx = 2;
    ChannelParams params =
        ChannelParams.builder()
            .fading(Fading.RAYLEIGH)
            .lossProbability(p)
            .lossPolicy(LossPolicy.RETRANSMIT)
            .maxRetransmissions(maxRetx)
            .rttMs(12.5)
            .packetPayloadBytes(4)
            .seed(7)
            .build();
    int n = 100_000;
    float[] v = new float[n];
    Arrays.fill(v, 1f);
    Impairment imp = new ChannelModel(params).impair(v, 4);
    // a packet is finally lost only if all 1 + N tries fail: p^(N+1)
    double pLost = Math.pow(p, maxRetx + 1);
    assertEquals(pLost, imp.packetsLost() / (double) n, Z * Math.sqrt(pLost * (1 - pLost) / n));
    // expected re-sends per packet: p + p² (+ ... up to N)
    double perPacket = p + p * p;
    assertEquals(perPacket, imp.retransmissions() / (double) n, 0.01);
    assertEquals(maxRetx * 12.5, imp.extraDelayMs(), 1e-9);
    // a single packet that never needs a retransmission costs nothing
    ChannelModel clean = new ChannelModel(params.toBuilder().hThreshold(0).build());
    assertEquals(0, clean.impair(new float[] {1f}, 4).extraDelayMs());
  }

  @Test
  void equalizerUsesPilotEstimateNotTrueGain() {
    // 5 % loss drops the deepest fades; zero-forcing would otherwise blow the noise up by 1/h²
    // (E[1/h²] diverges for Rayleigh). Over delivered packets, with E[h²] = 1 and SNR 30 dB:
    // raw error E[(h-1)²] ≈ 0.23 (≈ 6.4 dB); equalized ≈ 30 dB - 10·log10(E[1/h² | h > h_th])
    // ≈ 30 - 4.1 dB with perfect knowledge, somewhat less with an 8-symbol pilot estimate.
    ChannelParams base =
        ChannelParams.builder()
            .fading(Fading.RAYLEIGH)
            .lossProbability(0.05)
            .snrDb(30)
            .packetPayloadBytes(400)
            .seed(8)
            .build();
    float[] x = gaussian(200_000, 1, 9);
    double rawSnr = deliveredSnr(x, base);
    double eqSnr = deliveredSnr(x, base.toBuilder().receiver(Receiver.EQUALIZED).build());
    double perfectSnr =
        deliveredSnr(x, base.toBuilder().receiver(Receiver.EQUALIZED).pilotSymbols(0).build());
    assertEquals(6.4, rawSnr, 1.0);
    assertEquals(25.9, perfectSnr, 1.5);
    assertTrue(eqSnr > 18 && eqSnr < perfectSnr, eqSnr + " vs " + perfectSnr);
  }

  /** SNR over the packets that were delivered (lost ones are exactly zero). */
  private static double deliveredSnr(float[] x, ChannelParams p) {
    float[] y = x.clone();
    new ChannelModel(p).impair(y, 4);
    double sig = 0;
    double err = 0;
    for (int k = 0; k < y.length; k += 100) {
      if (y[k] == 0f && y[k + 1] == 0f) {
        continue;
      }
      for (int i = k; i < k + 100; i++) {
        sig += (double) x[i] * x[i];
        err += (double) (y[i] - x[i]) * (y[i] - x[i]);
      }
    }
    return 10 * Math.log10(sig / err);
  }

  @Test
  void sameSeedSameImpairmentDifferentSeedDifferent() {
    ChannelParams p =
        ChannelParams.builder()
            .fading(Fading.BLOCK)
            .coherencePackets(3)
            .lossProbability(0.2)
            .lossPolicy(LossPolicy.RETRANSMIT)
            .receiver(Receiver.EQUALIZED)
            .snrDb(15)
            .packetPayloadBytes(64)
            .seed(42)
            .build();
    ChannelModel a = new ChannelModel(p);
    ChannelModel b = new ChannelModel(p);
    for (int msg = 0; msg < 20; msg++) {
      float[] x = gaussian(1000 + msg * 37, 1, msg);
      float[] y = x.clone();
      Impairment ia = a.impair(x, 2);
      Impairment ib = b.impair(y, 2);
      assertArrayEquals(x, y);
      assertEquals(ia.packetsLost(), ib.packetsLost());
      assertEquals(ia.retransmissions(), ib.retransmissions());
    }
    float[] x = gaussian(5000, 1, 1);
    float[] y = x.clone();
    new ChannelModel(p).impair(x, 2);
    new ChannelModel(p.toBuilder().seed(43).build()).impair(y, 2);
    assertFalse(Arrays.equals(x, y));
  }

  @Test
  void packetSizeFollowsWireDtype() {
    assertEquals(350, ChannelModel.packetElements(1400, 4));
    assertEquals(700, ChannelModel.packetElements(1400, 2));
    assertEquals(1400, ChannelModel.packetElements(1400, 1));
    ChannelModel m = new ChannelModel(ChannelParams.IDEAL);
    assertEquals(3, m.impair(new float[1401], 2).packets());
    assertEquals(5, m.impair(new float[1401], 4).packets());
    assertEquals(0, m.impair(new float[0], 4).packets());
  }

  @Test
  void idealChannelIsExactIdentity() {
    float[] x = gaussian(10_000, 5, 3);
    float[] y = x.clone();
    Impairment imp = new ChannelModel(ChannelParams.IDEAL).impair(y, 4);
    assertArrayEquals(x, y);
    assertEquals(Double.POSITIVE_INFINITY, imp.deliveredSnrDb());
    assertTrue(ChannelParams.IDEAL.leavesValuesUntouched());
  }

  @Test
  void downlinkRetransmissionsAreGeometric() {
    double q = 0.2;
    ChannelModel m =
        new ChannelModel(ChannelParams.builder().downlinkLoss(q).rttMs(10).seed(10).build());
    long retx = 0;
    int n = 50_000;
    for (int i = 0; i < n; i++) {
      ChannelModel.Downlink d = m.transmitDownlink(100);
      assertEquals(1, d.packets());
      assertEquals(d.retransmissions() * 10.0, d.extraDelayMs(), 1e-9);
      retx += d.retransmissions();
    }
    // geometric number of failures: mean q/(1-q) = 0.25, sd √q/(1-q) per message
    double sd = Math.sqrt(q) / (1 - q) / Math.sqrt(n);
    assertEquals(q / (1 - q), retx / (double) n, Z * sd);
    assertEquals(3, m.transmitDownlink(2801).packets());
  }

  private static double[] toDouble(float[] v) {
    double[] d = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      d[i] = v[i];
    }
    return d;
  }
}
