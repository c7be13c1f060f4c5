package io.splitinfer.channelsim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.core.channel.ChannelEstimator;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.core.channel.ChannelParams.Fading;
import io.splitinfer.core.channel.ChannelParams.LossPolicy;
import io.splitinfer.core.channel.PilotSequence;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.Pilot;
import io.splitinfer.proto.v1.SessionOpen;
import io.splitinfer.proto.v1.UeMessage;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Hidden states and pilots are impaired on the way up; everything else is untouched. */
class ProxyImpairmentTest {
  static UeMessage hidden(float[] v, DType dt, int rows) {
    return UeMessage.newBuilder()
        .setHidden(
            HiddenState.newBuilder()
                .setSessionId("s")
                .setEpoch(4)
                .setSplitLayer(2)
                .setFirstPosition(17)
                .setTensor(TensorCodec.encode(v, dt, rows, v.length / rows))
                .addTargetIds(5)
                .setStep(9))
        .build();
  }

  @Test
  void halfPrecisionHiddenStatesAreImpairedInTheirOwnDtypeWithErasureMask() throws Exception {
    ChannelParams p =
        ChannelParams.builder()
            .sigma(0.05)
            .fading(Fading.RAYLEIGH)
            .lossProbability(0.3)
            .lossPolicy(LossPolicy.ERASURE)
            .receiver(ChannelParams.Receiver.EQUALIZED)
            .seed(77)
            .build();
    try (ProxyHarness h = new ProxyHarness(p)) {
      for (DType dt : new DType[] {DType.DTYPE_F16, DType.DTYPE_BF16, DType.DTYPE_F32}) {
        h.edge.received.clear();
        SplittableRandom r = new SplittableRandom(3);
        float[] v = new float[64 * 512];
        for (int i = 0; i < v.length; i++) {
          v[i] = (float) (1 + 0.1 * r.nextGaussian());
        }
        UeMessage open =
            UeMessage.newBuilder().setOpen(SessionOpen.newBuilder().setSessionId("s")).build();
        UeMessage msg = hidden(v, dt, 64);
        ProxyHarness.Session s = new ProxyHarness.Session(h.ue);
        s.call.sendMessage(open.toByteArray());
        s.next();
        s.call.sendMessage(msg.toByteArray());
        s.next();
        s.finish();
        assertArrayEquals(open.toByteArray(), h.edge.received.get(0), "open passes untouched");
        HiddenState got = UeMessage.parseFrom(h.edge.received.get(1)).getHidden();
        assertEquals(dt, got.getTensor().getDtype());
        assertEquals(msg.getHidden().getTensor().getShapeList(), got.getTensor().getShapeList());
        assertEquals(17, got.getFirstPosition());
        assertEquals(9, got.getStep());
        assertEquals(msg.getHidden().getTargetIdsList(), got.getTargetIdsList());
        int per = 1400 / TensorCodec.bytesPerElement(dt);
        assertEquals(per, got.getPacketElements());
        float[] out = TensorCodec.decode(got.getTensor());
        byte[] mask = got.getErasureMask().toByteArray();
        int packets = (out.length + per - 1) / per;
        int lost = 0;
        double err = 0;
        int n = 0;
        for (int k = 0; k < packets; k++) {
          boolean erased = k / 8 < mask.length && (mask[k / 8] >> (k % 8) & 1) == 1;
          if (erased) {
            lost++;
            assertEquals(0f, out[k * per]);
          } else {
            for (int i = k * per; i < Math.min(out.length, (k + 1) * per); i++) {
              err += Math.abs(out[i] - v[i]);
              n++;
            }
          }
        }
        assertTrue(lost > 0 && lost < packets, "lost " + lost + " of " + packets);
        // equalized, σ = 0.05: mean abs error of delivered values well below the signal (≈ 1)
        assertTrue(err / n < 0.5, dt + " error " + err / n);
        assertNotEquals(0, err);
      }
      assertEquals(3, h.sim.simulator().statistics().getMessages());
      assertTrue(h.sim.simulator().statistics().getPacketsLost() > 0);
    }
  }

  @Test
  void pilotsAreImpairedRawAndEstimateTheChannel() throws Exception {
    ChannelParams p =
        ChannelParams.builder()
            .snrDb(15)
            .fading(Fading.RAYLEIGH)
            .sigmaH(0.8)
            .lossProbability(0.1)
            .receiver(ChannelParams.Receiver.EQUALIZED)
            .seed(5)
            .build();
    try (ProxyHarness h = new ProxyHarness(p)) {
      ProxyHarness.Session s = new ProxyHarness.Session(h.ue);
      ChannelEstimator est = new ChannelEstimator();
      for (int i = 0; i < 10; i++) {
        float[] x = PilotSequence.values(i, 35_000);
        UeMessage m =
            UeMessage.newBuilder()
                .setPilot(
                    Pilot.newBuilder()
                        .setSeed(i)
                        .setSequence(i)
                        .setSamples(TensorCodec.encode(x, DType.DTYPE_F32, x.length)))
                .build();
        s.call.sendMessage(m.toByteArray());
        s.next();
      }
      s.finish();
      for (byte[] f : h.edge.received) {
        Pilot got = UeMessage.parseFrom(f).getPilot();
        est.observePilot(got.getSeed(), TensorCodec.decode(got.getSamples()), 350, null);
      }
      ChannelEstimator.Estimate e = est.estimate();
      assertEquals(1000, e.windowPackets());
      assertEquals(0.1, e.lossRate(), 4 * Math.sqrt(0.09 / 1000));
      assertEquals(15, e.snrDb(), 0.3);
      assertEquals(0.8, e.gainScale(), 0.08); // 900 delivered packets: ≈ 2 % sd; bound 10 %
    }
  }

  @Test
  void sameSeedSameTrafficSameImpairment() throws Exception {
    ChannelParams p =
        ChannelParams.builder()
            .snrDb(10)
            .fading(Fading.BLOCK)
            .coherencePackets(4)
            .lossProbability(0.2)
            .lossPolicy(LossPolicy.RETRANSMIT)
            .seed(123)
            .build();
    byte[][] runs = new byte[2][];
    for (int run = 0; run < 2; run++) {
      try (ProxyHarness h = new ProxyHarness(p)) {
        ProxyHarness.Session s = new ProxyHarness.Session(h.ue);
        for (int i = 0; i < 5; i++) {
          float[] v = new float[4096];
          java.util.Arrays.fill(v, i + 1);
          s.call.sendMessage(hidden(v, DType.DTYPE_BF16, 4).toByteArray());
          s.next();
        }
        s.finish();
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        for (byte[] f : h.edge.received) {
          all.write(f);
        }
        runs[run] = all.toByteArray();
      }
    }
    assertArrayEquals(runs[0], runs[1]);
    assertFalse(runs[0].length == 0);
  }
}
