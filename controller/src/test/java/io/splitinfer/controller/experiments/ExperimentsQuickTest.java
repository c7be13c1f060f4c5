package io.splitinfer.controller.experiments;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.controller.ControllerMain;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The smallest part of {@code controller experiments --quick} (issue 18), so the pipeline cannot
 * rot: the surrogate's cross-validated error on the shipped records and Fig. 3 in process on the
 * embedded default model (2 channel seeds, 512 tokens per point). Checks the files, that the clean
 * channel gives one PPL at every split, that noise raises it, and that the intervals come from the
 * seeds.
 */
class ExperimentsQuickTest {
  @TempDir Path out;

  @Test
  void quickSurrogateAndFig3() throws Exception {
    int rc =
        ControllerMain.commandLine()
            .execute("experiments", "--quick", "--only", "surrogate,fig3", "--out", out.toString());
    assertEquals(0, rc);
    for (String f :
        List.of(
            "fig3.csv",
            "fig3-rms.csv",
            "fig3-awgn-sigma.png",
            "fig3-awgn-snr.png",
            "fig3-rayleigh.png",
            "fig3-heat-p1.png",
            "surrogate-cv.csv",
            "surrogate-summary.csv",
            "surrogate-parity.png",
            "summary.md")) {
      assertTrue(Files.size(out.resolve(f)) > 0, f);
    }
    List<String> rows = Files.readAllLines(out.resolve("fig3.csv"));
    List<String> header = List.of(rows.get(0).split(","));
    Map<String, Integer> col =
        header.stream().collect(Collectors.toMap(Function.identity(), header::indexOf));
    Plan plan = Plan.quick();
    double clean = Double.NaN;
    double noisyP1 = Double.NaN;
    for (String r : rows.subList(1, rows.size())) {
      String[] f = r.split(",", -1);
      double mean = Double.parseDouble(f[col.get("ppl_mean")]);
      int seeds = Integer.parseInt(f[col.get("seeds")]);
      String[] perSeed = f[col.get("ppl_per_seed")].split(";");
      assertEquals(seeds, perSeed.length, r);
      assertTrue(mean > 1 && Double.isFinite(mean), r);
      boolean cleanRow =
          f[col.get("receiver")].equals("none")
              && f[col.get("sigma")].equals("0")
              && f[col.get("snr_db")].isEmpty();
      if (cleanRow) {
        assertEquals(1, seeds, r);
        if (Double.isNaN(clean)) {
          clean = mean;
        }
        // split == monolithic: the clean channel gives one PPL at every split
        assertEquals(clean, mean, clean * 1e-3, r);
      } else {
        assertEquals(plan.seeds(), seeds, r);
        assertTrue(Double.parseDouble(f[col.get("ppl_ci95")]) >= 0, r);
      }
      if (f[col.get("family")].equals("awgn-sigma")
          && f[col.get("sigma")].equals("8")
          && f[col.get("split")].equals("1")) {
        noisyP1 = mean;
      }
    }
    assertTrue(noisyP1 > clean * 1.2, "σ = 8 at p = 1: " + noisyP1 + " vs clean " + clean);
    String[] s = Files.readAllLines(out.resolve("surrogate-summary.csv")).get(1).split(",");
    assertEquals(462, Integer.parseInt(s[0]), "the shipped records");
    double mseNorm = Double.parseDouble(s[5]);
    assertTrue(mseNorm > 0 && mseNorm < 0.1, "normalised MSE " + mseNorm);
  }
}
