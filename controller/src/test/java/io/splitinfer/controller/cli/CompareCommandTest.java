package io.splitinfer.controller.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.controller.ControllerMain;
import io.splitinfer.controller.ppo.PpoTrainer.CurvePoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CompareCommandTest {
  @Test
  void rebinWeightsByEpisodesAndDropsEmptyWindows() {
    List<CurvePoint> curve =
        List.of(
            new CurvePoint(5, -10, 1),
            new CurvePoint(10, -20, 3),
            new CurvePoint(15, Double.NaN, 0),
            new CurvePoint(20, -4, 2),
            new CurvePoint(25, Double.NaN, 0));
    List<CurvePoint> b = CompareCommand.rebin(curve, 10);
    assertEquals(2, b.size());
    assertEquals(new CurvePoint(10, (-10 - 60) / 4.0, 4), b.get(0));
    assertEquals(new CurvePoint(20, -4, 2), b.get(1));
    // a curve already on the grid is unchanged (PPO: one point per 400-step rollout)
    List<CurvePoint> ppo = List.of(new CurvePoint(400, -1, 80), new CurvePoint(800, -2, 80));
    assertEquals(ppo, CompareCommand.rebin(ppo, 400));
  }

  @Test
  void smoothIsATrailingEpisodeWeightedMean() {
    List<CurvePoint> curve =
        List.of(new CurvePoint(1, -1, 1), new CurvePoint(2, -4, 2), new CurvePoint(3, -7, 1));
    List<CurvePoint> s = CompareCommand.smooth(curve, 2);
    assertEquals(new CurvePoint(1, -1, 1), s.get(0));
    assertEquals(new CurvePoint(2, -9 / 3.0, 3), s.get(1));
    assertEquals(new CurvePoint(3, -15 / 3.0, 3), s.get(2));
    assertEquals(curve, CompareCommand.smooth(curve, 1));
  }

  @Test
  void writesCurvesAndSummaryForACase(@TempDir Path dir) throws Exception {
    int rc =
        ControllerMain.commandLine()
            .execute(
                "compare",
                "--case",
                "L",
                "--steps",
                "1200",
                "--episodes",
                "20",
                "--out",
                dir.toString());
    assertEquals(0, rc);
    assertTrue(Files.size(dir.resolve("curves-L.png")) > 1000);
    List<String> curves = Files.readAllLines(dir.resolve("curves-L.csv"));
    // header + 3 points (1200 / 400) per algorithm
    assertEquals(1 + 3 * 3, curves.size(), String.join("\n", curves));
    List<String> summary = Files.readAllLines(dir.resolve("compare-summary.csv"));
    assertEquals(4, summary.size());
    assertTrue(summary.get(1).startsWith("L,ppo,1200,1,"), summary.get(1));
    assertTrue(summary.get(2).startsWith("L,a2c,"), summary.get(2));
    assertTrue(summary.get(3).startsWith("L,dqn,"), summary.get(3));
  }
}
