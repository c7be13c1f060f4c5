package io.splitinfer.controller.live;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.controller.service.PolicyFactory;
import io.splitinfer.controller.service.SplitPolicy;
import io.splitinfer.core.channel.ChannelModel;
import io.splitinfer.core.objective.Objective;
import io.splitinfer.core.objective.UeCost;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;

class PplTableTest {
  /** σ_h at h_th = 1 for a loss rate, the records' convention (P clamped to 1e-4). */
  private static double sigmaH(double loss) {
    double p = Math.max(loss, 1e-4);
    return 1.0 / Math.sqrt(-2 * Math.log(1 - p));
  }

  /** PPL = 50 + 10·σ·(12 − p)/11 + 100·loss: a later split helps against σ, loss hurts all. */
  private static double model(double sigma, double loss, int p) {
    return 50 + 10 * sigma * (12 - p) / 11.0 + 100 * loss;
  }

  private static List<String> csv() {
    List<String> lines = new ArrayList<>();
    lines.add("sigma,sigma_h,split,ppl,cost,model_id,source,measured_at");
    for (double s : new double[] {0, 4, 8}) {
      for (double l : new double[] {0, 0.1, 0.3}) {
        for (int p = 1; p <= 11; p++) {
          lines.add(
              String.format(
                  Locale.ROOT, "%s,%s,%d,%s,0,m,measured,t", s, sigmaH(l), p, model(s, l, p)));
        }
      }
    }
    return lines;
  }

  @Test
  void gridPointsAreExactAndBetweenIsBilinear() throws IOException {
    PplTable t = PplTable.parse(csv(), "test");
    assertEquals(1, t.minSplit());
    assertEquals(11, t.maxSplit());
    assertEquals(model(4, 0.1, 3), t.ppl(4, 0.1, 3), 1e-9);
    assertEquals(model(0, 0, 11), t.ppl(0, 0, 11), 1e-9);
    // the model is linear in σ and in loss, so bilinear interpolation reproduces it
    assertEquals(model(6, 0.2, 5), t.ppl(6, 0.2, 5), 1e-6);
    assertEquals(model(1.3, 0.05, 9), t.ppl(1.3, 0.05, 9), 1e-6);
    // outside the grid: the nearest edge
    assertEquals(model(8, 0.3, 2), t.ppl(12, 0.5, 2), 1e-9);
    assertThrows(IllegalArgumentException.class, () -> t.ppl(1, 0, 12));
  }

  @Test
  void lossOfInvertsEq4AtUnitThreshold() {
    assertEquals(0.2, PplTable.lossOf(sigmaH(0.2)), 1e-12);
    assertEquals(0.0, PplTable.lossOf(sigmaH(0)), 0.0); // the records' clamped "no loss"
    assertEquals(0.0, PplTable.lossOf(Double.POSITIVE_INFINITY), 0.0);
    assertEquals(ChannelModel.lossProbability(1, 2.0), PplTable.lossOf(2.0), 1e-12);
  }

  @Test
  void incompleteGridAndMissingColumnsAreRefused() {
    List<String> lines = csv();
    lines.remove(5);
    IOException e = assertThrows(IOException.class, () -> PplTable.parse(lines, "t"));
    assertTrue(e.getMessage().contains("grid incomplete"), e.getMessage());
    assertThrows(IOException.class, () -> PplTable.parse(List.of("sigma,split,ppl"), "t"));
  }

  @Test
  void oraclePicksArgminOfPplPlusLambdaCost() throws IOException {
    PplTable t = PplTable.parse(csv(), "test");
    Objective o = new Objective(new UeCost(256, 256, 12), 50);
    TableOraclePolicy oracle = new TableOraclePolicy(t, o, "test");
    for (double s : new double[] {0, 2, 5, 8}) {
      for (double l : new double[] {0, 0.2}) {
        int expect = o.argmin(p -> model(s, l, p), 1, 11);
        assertEquals(expect, oracle.propose(s, sigmaH(l), 6, 1, 11), "σ=" + s + " loss=" + l);
      }
    }
    assertEquals(1, oracle.propose(0, sigmaH(0), 6, 1, 11)); // clean: cheapest split
    assertEquals(11, oracle.propose(8, sigmaH(0), 6, 1, 11)); // σ 8: ΔPPL 72 > λ·Ĉ
    assertEquals(4, oracle.propose(8, sigmaH(0), 2, 2, 4)); // stays inside the UE's range
  }

  @Test
  void policyFactoryBuildsTheOracleFromAFileOrTheJar() {
    SplitPolicy shipped = new PolicyFactory("", "", -1, 1).create("oracle-table", "");
    assertEquals("classpath:" + PolicyFactory.DEFAULT_PPL_TABLE, shipped.checkpoint());
    String f = "docs/records-default-model.csv";
    SplitPolicy p = new PolicyFactory("", "", -1, 1, f).create("oracle-table", "");
    assertEquals("oracle-table", p.name());
    assertEquals(f, p.checkpoint());
    // the shipped policy's objective (λ = 50) on the measured table: clean → early, σ 8 → late
    assertEquals(1, p.propose(0, Double.POSITIVE_INFINITY, 6, 1, 11));
    assertTrue(p.propose(8, Double.POSITIVE_INFINITY, 6, 1, 11) >= 9);
    assertThrows(
        java.io.UncheckedIOException.class,
        () -> new PolicyFactory("", "", -1, 1, "no-such.csv").create("oracle-table", ""));
  }

  @Test
  void shippedRecordsLoadAsAFullGrid() throws IOException {
    Path f = Path.of("docs/records-default-model.csv");
    PplTable t = PplTable.load(f);
    assertEquals(1, t.minSplit());
    assertEquals(11, t.maxSplit());
    assertEquals(54.67, t.ppl(0, 0, 1), 0.01); // the README's clean PPL
  }
}
