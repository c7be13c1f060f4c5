package io.splitinfer.ue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.splitinfer.proto.v1.SwitchMethod;
import org.junit.jupiter.api.Test;

class SwitchCostModelTest {
  static final SwitchMethod TRANSFER = SwitchMethod.SWITCH_METHOD_KV_TRANSFER;
  static final SwitchMethod RECOMPUTE = SwitchMethod.SWITCH_METHOD_RECOMPUTE;

  @Test
  void unknownLinkPicksTransferWhichMeasuresIt() {
    SwitchCostModel m = new SwitchCostModel(SwitchCostModel.Config.auto());
    assertEquals(TRANSFER, m.choose(1, 0, 512, 256, 0, true).method());
    m.observeLink(1_000_000, 1_000_000_000L); // 1 MB/s
    assertEquals(1e6, m.bytesPerSecond(), 1e-6);
  }

  @Test
  void slowLinkPicksRecomputeFastLinkPicksTransfer() {
    // 1 layer x 512 positions x 2 x 256 x 4 B = 1 MiB to transfer; recompute 512 layer-positions.
    SwitchCostModel m =
        new SwitchCostModel(SwitchCostModel.Config.auto().withLinkMbps(8)); // 1 MB/s
    m.observeCompute(1, 512, 512 * 10_000L); // 10 us per layer-position
    SwitchCostModel.Estimate e = m.choose(1, 0, 512, 256, 0, true);
    assertEquals(1_048_576, e.transferBytes());
    assertEquals(RECOMPUTE, e.method()); // ~1 s transfer vs ~10 ms recompute
    for (int i = 0; i < 30; i++) {
      m.observeLink(1_000_000_000L, 1_000_000_000L); // 1 GB/s
    }
    assertEquals(TRANSFER, m.choose(1, 0, 512, 256, 0, true).method()); // ~1 ms vs ~10 ms
    // Re-running layers first (the edge gains layers) makes recompute dearer still.
    assertEquals(TRANSFER, m.choose(1, 5, 512, 256, 512L * 256 * 4, false).method());
  }

  @Test
  void forcedMethodSkipsTheComparison() {
    SwitchCostModel m = new SwitchCostModel(SwitchCostModel.Config.forced(RECOMPUTE));
    SwitchCostModel.Estimate e = m.choose(1, 0, 64, 256, 0, true);
    assertEquals(RECOMPUTE, e.method());
    assertEquals(true, e.forced());
    assertThrows(
        IllegalArgumentException.class, () -> new SwitchCostModel.Config(null, -1, 1, 0.5, false));
  }

  @Test
  void cleanRecomputesWhenTheUeGainsLayersAndPicksByCostOtherwise() {
    SwitchCostModel m = new SwitchCostModel(SwitchCostModel.Config.parse("clean"));
    for (int i = 0; i < 30; i++) {
      m.observeLink(1_000_000_000L, 1_000_000_000L); // 1 GB/s: transfer is far cheaper
    }
    SwitchCostModel.Estimate up = m.choose(8, 0, 200, 256, 0, true);
    assertEquals(RECOMPUTE, up.method(), "the UE gains layers: recompute from its own states");
    assertEquals(1600, up.recomputeLayerPositions());
    assertEquals(false, up.forced());
    assertEquals(TRANSFER, m.choose(8, 3, 200, 256, 200L * 256 * 4, false).method());
    assertEquals(RECOMPUTE, SwitchCostModel.Config.parse("recompute").forced(), "forced recompute");
    assertThrows(IllegalArgumentException.class, () -> SwitchCostModel.Config.parse("fast"));
  }
}
