package io.splitinfer.controller.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.core.channel.ChannelState;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ChannelFusionTest {
  static final Hysteresis H = new Hysteresis(1, Duration.ZERO, 0.10, 0.01);

  static ChannelState inc(double sigma, long dof, long seen, long lost) {
    return new ChannelState(
        sigma,
        seen == 0 ? 0 : (double) lost / seen,
        new ChannelState.Evidence(1, dof, seen, lost, 500));
  }

  @Test
  void exponentiallyWeightedCountsWithAHalfLife() {
    ChannelFusion f = new ChannelFusion(new ChannelFusion.Config(Duration.ofSeconds(10), 32, 300));
    f.add(inc(2.0, 1000, 100, 10), 0, 0.1);
    f.add(inc(2.0, 1000, 100, 0), 10_000, 0.1); // the first increment now weighs 1/2
    ChannelState e = f.estimate();
    assertEquals(5.0 / 150, e.loss(), 1e-12);
    assertEquals(150, f.effectivePackets(), 1e-9);
    assertEquals(2.0, e.sigma(), 1e-12);
  }

  @Test
  void actsOnlyWithEnoughEvidenceAndBeyondTheHysteresis() {
    ChannelFusion f = new ChannelFusion(new ChannelFusion.Config(Duration.ofSeconds(20), 32, 300));
    f.add(inc(2.0, 1000, 5, 0), 0, 0.1);
    assertFalse(f.maybeAct(H), "5 packets < 8 for the first state");
    assertNull(f.inForce());
    f.add(inc(2.0, 1000, 15, 1), 0, 0.1);
    assertTrue(f.maybeAct(H), "the first state goes in force with 8 packets");
    assertEquals(0.05, f.inForce().loss(), 1e-12);
    // σ 2 → 2.1 (5 %) and a loss inside the interval: no change of the state in force
    f.add(inc(2.1, 1000, 40, 3), 100, 0.1);
    assertFalse(f.maybeAct(H));
    assertEquals(2.0, f.inForce().sigma(), 1e-12);
    // many packets at P = 0.3: the old P leaves the 95 % interval by more than lossDelta
    for (int i = 0; i < 10; i++) {
      f.add(inc(2.0, 1000, 100, 30), 200 + i, 0.1);
    }
    assertTrue(f.maybeAct(H));
    assertTrue(f.inForce().loss() > 0.25, "P in force " + f.inForce().loss());
    assertTrue(f.lossInterval().contains(f.inForce().loss()));
  }

  @Test
  void aChangeOfSigmaRestartsTheFusionAndADeclarationReplacesIt() {
    ChannelFusion f = new ChannelFusion(new ChannelFusion.Config(Duration.ofSeconds(20), 32, 300));
    for (int i = 0; i < 20; i++) {
      f.add(inc(0.0, 3000, 100, 0), i * 100L, 0.1);
    }
    assertTrue(f.maybeAct(H));
    f.add(inc(6.0, 3000, 40, 2), 2100, 0.1); // σ 0 → 6: the clean history is dropped
    assertEquals(1, f.changePoints());
    assertEquals(6.0, f.estimate().sigma(), 1e-12);
    assertEquals(0.05, f.estimate().loss(), 1e-12);
    assertTrue(f.maybeAct(H));
    f.declare(ChannelState.declared(1.0, 0.2));
    assertEquals(0, f.effectivePackets());
    assertEquals(0.2, f.inForce().loss());
  }

  @Test
  void aStepOfLossIsAChangePointButBinomialNoiseIsNot() {
    ChannelFusion f = new ChannelFusion(new ChannelFusion.Config(Duration.ofSeconds(20), 32, 300));
    // static P = 0.05: 16-packet increments with 0..2 lost (2/16 is within 4 standard errors)
    long[] lost = {0, 1, 0, 2, 1, 0, 0, 1, 2, 0, 1, 0, 0, 1, 0, 1};
    for (int i = 0; i < lost.length; i++) {
      f.add(inc(2.0, 1000, 16, lost[i]), i * 100L, 0.1);
    }
    assertEquals(0, f.changePoints());
    assertTrue(f.maybeAct(H));
    double before = f.inForce().loss();
    // a burst: 16 packets, 8 lost
    f.add(inc(2.0, 1000, 16, 8), 2000, 0.1);
    assertEquals(1, f.changePoints());
    assertEquals(0.5, f.estimate().loss(), 1e-12, "the old evidence is dropped");
    assertFalse(f.maybeAct(H), "16 packets < 32: P holds and σ did not move");
    assertEquals(before, f.inForce().loss(), 1e-12);
    f.add(inc(2.0, 1000, 16, 7), 2000, 0.1);
    assertTrue(f.maybeAct(H));
    assertEquals(15.0 / 32, f.inForce().loss(), 1e-3);
  }

  @Test
  void afterAChangePointSigmaMovesAloneBeforePHasItsPackets() {
    ChannelFusion f = new ChannelFusion(new ChannelFusion.Config(Duration.ofSeconds(20), 32, 300));
    for (int i = 0; i < 10; i++) {
      f.add(inc(4.0, 1000, 16, 1), i * 100L, 0.1);
    }
    assertTrue(f.maybeAct(H));
    double p = f.inForce().loss();
    // σ falls to 0.5: one pilot's increment (5 packets) is a change point and σ follows at once
    f.add(inc(0.5, 1000, 5, 0), 1100, 0.1);
    assertEquals(1, f.changePoints());
    assertTrue(f.maybeAct(H));
    assertEquals(0.5, f.inForce().sigma(), 1e-12);
    assertEquals(p, f.inForce().loss(), 1e-12, "P in force holds until it has 32 packets");
  }

  @Test
  void nearSigmaZeroThePilotsNoiseIsNoChangePointAndTheFirstStateComesEarly() {
    ChannelFusion f = new ChannelFusion(new ChannelFusion.Config(Duration.ofSeconds(20), 32, 200));
    // σ̂ of single 256-symbol pilots at a true σ ≈ 0.2: 0.09, 0.35, 0.18, 0.44 (the live run's)
    double[] sig = {0.09, 0.35, 0.18, 0.44, 0.12, 0.30};
    f.add(inc(sig[0], 256, 4, 0), 0, 0.1);
    assertFalse(f.maybeAct(H), "4 packets");
    f.add(inc(sig[1], 256, 4, 1), 20, 0.1);
    assertTrue(f.maybeAct(H), "8 packets and σ's evidence: the first state is in force");
    for (int i = 2; i < sig.length; i++) {
      f.add(inc(sig[i], 256, 4, 0), 20L * i, 0.1);
      assertFalse(f.maybeAct(H), "σ moved by less than the resolution");
    }
    assertEquals(0, f.changePoints(), "differences below 0.5 are not change points");
    assertEquals(24, f.effectivePackets(), 0.5);
    // a real step of σ is still one
    f.add(inc(3.0, 256, 4, 0), 200, 0.1);
    assertEquals(1, f.changePoints());
    assertTrue(f.maybeAct(H));
    assertEquals(3.0, f.inForce().sigma(), 1e-12);
  }

  @Test
  void aBurstIsFoundFromSmallIncrementsPooledInAWindow() {
    ChannelFusion f = new ChannelFusion(new ChannelFusion.Config(Duration.ofSeconds(20), 32, 200));
    // a receiver reporting every 4 packets, P ≈ 0.05 (one loss in 20 packets)
    for (int i = 0; i < 48; i++) { // 12 windows of 16 packets
      f.add(inc(2.0, 256, 4, i % 5 == 0 ? 1 : 0), i * 20L, 0.1);
      f.maybeAct(H);
    }
    assertEquals(0, f.changePoints(), "binomial noise of 4-packet reports is no change point");
    double before = f.inForce().loss();
    assertTrue(before < 0.1, "P in force " + before);
    // a burst: 3 of every 4 packets lost; four reports fill the test's window of 16 packets
    for (int i = 0; i < 3; i++) {
      f.add(inc(2.0, 256, 4, 3), 1000 + 20L * i, 0.1);
    }
    assertEquals(0, f.changePoints(), "12 packets are not enough");
    f.add(inc(2.0, 256, 4, 3), 1060, 0.1);
    assertEquals(1, f.changePoints(), "16 packets, 12 lost: a change point");
    for (int i = 0; i < 4; i++) {
      f.add(inc(2.0, 256, 4, 3), 1080 + 20L * i, 0.1);
    }
    assertTrue(f.maybeAct(H));
    assertEquals(0.75, f.inForce().loss(), 0.05, "P in force follows the burst");
    // and the end of the burst, again within one window
    for (int i = 0; i < 4; i++) {
      f.add(inc(2.0, 256, 4, 0), 1200 + 20L * i, 0.1);
    }
    assertEquals(2, f.changePoints());
    assertTrue(f.estimate().loss() < 0.01, "only the clean window is left");
  }
}
