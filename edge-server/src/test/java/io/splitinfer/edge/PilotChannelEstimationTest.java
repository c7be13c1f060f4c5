package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.splitinfer.core.channel.ChannelState;
import io.splitinfer.core.channel.PilotSequence;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.Pilot;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class PilotChannelEstimationTest {
  record Report(String ue, ChannelState inc) {}

  static HiddenState hidden(float[] v, int packetElements, byte[] mask) {
    return HiddenState.newBuilder()
        .setTensor(TensorCodec.encode(v, DType.DTYPE_F32, v.length))
        .setPacketElements(packetElements)
        .setErasureMask(ByteString.copyFrom(mask))
        .build();
  }

  @Test
  void everyHiddenPacketCountsAndReportsAreRateLimitedIncrements() {
    long[] now = {0};
    List<Report> reports = new ArrayList<>();
    PilotChannelEstimation est =
        new PilotChannelEstimation(
            1400, 8, 1000, () -> now[0], (ue, inc, snr) -> reports.add(new Report(ue, inc)));
    float[] row = new float[30];
    Arrays.fill(row, 0.25f);
    float[] zeroFilled = row.clone();
    Arrays.fill(zeroFilled, 10, 20, 0f); // packet 1 of 3 lost under zero-fill
    est.onHidden("s", "ue-1", hidden(zeroFilled, 10, new byte[0])); // 3 packets, 1 lost
    est.onHidden("s", "ue-1", hidden(row, 10, new byte[] {0b100})); // 3 packets, 1 erased
    assertTrue(reports.isEmpty(), "6 packets < 8 and 0 ms old: no report yet");
    now[0] = 1500;
    float[] x = PilotSequence.values(9, 20);
    est.onPilot(
        "s",
        "ue-1",
        Pilot.newBuilder()
            .setSeed(9)
            .setSamples(TensorCodec.encode(x, DType.DTYPE_F32, x.length))
            .setPacketElements(10)
            .build()); // 2 delivered pilot packets: 8 packets in the increment
    assertEquals(1, reports.size());
    ChannelState.Evidence ev = reports.get(0).inc().evidence();
    assertEquals("ue-1", reports.get(0).ue());
    assertEquals(8, ev.packetsSeen());
    assertEquals(2, ev.packetsLost());
    assertEquals(1, ev.pilots());
    assertEquals(18, ev.sigmaDof());
    assertEquals(1500, ev.windowMs());
    assertEquals(0.0, reports.get(0).inc().sigma(), 1e-9);
    // the next increment starts empty; the session's end flushes what is left
    est.onHidden("s", "ue-1", hidden(row, 10, new byte[0]));
    est.sessionEnded("s");
    assertEquals(2, reports.size());
    assertEquals(3, reports.get(1).inc().evidence().packetsSeen());
    assertEquals(0, reports.get(1).inc().evidence().packetsLost());
    assertTrue(Double.isNaN(reports.get(1).inc().sigma()), "no pilot in the increment");
  }
}
