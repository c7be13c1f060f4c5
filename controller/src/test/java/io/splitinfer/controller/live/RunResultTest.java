package io.splitinfer.controller.live;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.core.objective.Objective;
import io.splitinfer.core.objective.UeCost;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunResultTest {
  @TempDir Path dir;

  @Test
  void stepLogAndRunMetricsByHand() throws IOException {
    Path f = dir.resolve("s.csv");
    Files.writeString(
        f,
        "step,position,split,epoch,logprob,step_ms,switch\n"
            + "0,0,2,0,-8.0,10,0\n"
            + "1,4,2,0,-8.0,12,0\n"
            + "2,8,4,5,-4.0,40,1\n"
            + "3,12,4,5,-4.0,11,0\n");
    List<StepLog.Step> steps = StepLog.read(f, 4);
    assertEquals(4, steps.size());
    assertEquals(4, steps.get(3).tokens()); // last row: same as the one before
    assertTrue(steps.get(2).switched());
    Objective o = new Objective(new UeCost(256, 256, 12), 50);
    RunResult r = RunResult.of("sc", 1, "ppo", steps, o, 1.0);
    assertEquals(16, r.tokens());
    assertEquals(Math.exp(24.0 / 16), r.ppl(), 1e-9);
    double cost = (o.cost().normalized(2) + o.cost().normalized(4)) / 2;
    assertEquals(cost, r.meanCost(), 1e-12);
    assertEquals(r.ppl() + 50 * cost, r.objective(), 1e-9);
    assertEquals(3.0, r.meanSplit(), 1e-12);
    assertEquals(1, r.switches());
    assertEquals(40 - 11, r.stallMs(), 1e-9); // the switch step above the median (11)
  }

  @Test
  void summaryMeansIntervalsBestFixedAndGap() {
    Objective o = new Objective(new UeCost(256, 256, 12), 50);
    List<RunResult> rs = new ArrayList<>();
    double[][] obj = {{100, 102, 104}, {110, 111, 112}, {105, 106, 107}, {99, 100, 101}};
    String[] pols = {"ppo", "fixed-3", "fixed-9", "oracle"};
    for (int i = 0; i < pols.length; i++) {
      for (int s = 0; s < 3; s++) {
        rs.add(
            new RunResult(
                "drift", s + 1, pols[i], 10, 40, obj[i][s] - 10, 0.2, obj[i][s], 5, 1, 0, 1));
      }
    }
    List<Summary.Row> rows = Summary.rows(rs);
    Summary.Row ppo = rows.get(0);
    assertEquals(102, ppo.objective().mean(), 1e-9);
    assertEquals(4.303 * 2 / Math.sqrt(3), ppo.objective().half(), 1e-9);
    assertEquals(100 * (102 - 100) / 100.0, ppo.gapToOraclePct(), 1e-9);
    assertEquals("fixed-9", Summary.bestFixed(rows, "drift").policy());
    String md = Summary.markdown(rows, o.lambda());
    assertTrue(md.contains("fixed-9 (best fixed)"), md);
    String v = Summary.verdict(rows, rs);
    assertTrue(v.contains("beats it") && v.contains("within 5 %"), v);
    // paired by seed: ppo - fixed-9 = -5, -4, -3: mean -4, sd 1, half 4.303/sqrt(3)
    Summary.Stat d = Summary.paired(rs, "drift", "ppo", "fixed-9", false);
    assertEquals(-4, d.mean(), 1e-9);
    assertEquals(4.303 / Math.sqrt(3), d.half(), 1e-9);
    assertEquals(3, d.n());
    assertTrue(v.contains("ppo - fixed-9 = -4.00 ± 2.48 (lower, significant)"), v);
    Summary.Stat rel = Summary.paired(rs, "drift", "ppo", "oracle", true);
    double meanRatio = (100.0 / 99 + 102.0 / 100 + 104.0 / 101) / 3;
    assertEquals(100 * (meanRatio - 1), rel.mean(), 1e-9);
    assertEquals(5, Summary.csv(rows).split("\n").length);
  }
}
