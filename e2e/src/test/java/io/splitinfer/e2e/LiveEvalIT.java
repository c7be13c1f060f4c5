package io.splitinfer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The short version of the online experiment ({@code controller live-eval}, issue 11): real
 * edge-server, channel-sim, controllers and ue-client JVMs from the built jars, one scenario, one
 * seed, live PPO + oracle + one fixed split, a few hundred tokens. Asserts the structure of the
 * outputs and that the run is reproducible: the same scenario, seed and text give the fixed split
 * the same per-step NLL and the same true channel, and every policy the same channel trace. No
 * timing assertions.
 */
class LiveEvalIT {
  private static List<String> column(Path csv, String name) throws Exception {
    List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
    int i = List.of(lines.get(0).split(",")).indexOf(name);
    assertTrue(i >= 0, csv + " has no column " + name);
    List<String> out = new ArrayList<>();
    for (String l : lines.subList(1, lines.size())) {
      out.add(l.split(",")[i]);
    }
    return out;
  }

  private static String run(Path root, Path out) throws Exception {
    Path log = Files.createTempFile("live-eval", ".log");
    Process p =
        new ProcessBuilder(
                "java",
                "-jar",
                root.resolve("controller/target/controller.jar").toString(),
                "live-eval",
                "--out",
                out.toString(),
                "--scenarios",
                "bursty",
                "--seeds",
                "5",
                "--policies",
                "ppo,oracle,fixed-4",
                "--tokens",
                "160",
                "--step-tokens",
                "4",
                "--segment-ticks",
                "24")
            .directory(root.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    boolean finished = p.waitFor(8, TimeUnit.MINUTES);
    if (!finished) {
      p.destroyForcibly().waitFor();
    }
    String text = Files.readString(log, StandardCharsets.UTF_8);
    assertTrue(finished, "live-eval did not finish:\n" + text);
    assertEquals(0, p.exitValue(), "live-eval failed:\n" + text);
    return text;
  }

  @Test
  void shortExperimentWritesItsTablesAndIsReproducible() throws Exception {
    Path root = RepoPaths.root();
    Path a = Files.createTempDirectory("live-eval-a");
    Path b = Files.createTempDirectory("live-eval-b");
    String out = run(root, a);
    run(root, b);
    assertTrue(out.contains("| bursty | ppo |") && out.contains("| bursty | oracle |"), out);
    assertTrue(out.contains("fixed-4 (best fixed)"), out);
    for (String f : List.of("summary.md", "summary.csv", "results.csv", "live-bursty.png")) {
      assertTrue(Files.size(a.resolve(f)) > 0, f);
    }
    assertEquals(4, Files.readAllLines(a.resolve("results.csv")).size()); // header + 3 runs
    Path fixedA = a.resolve("steps/bursty-s5-fixed-4.csv");
    Path fixedB = b.resolve("steps/bursty-s5-fixed-4.csv");
    assertEquals(40, column(fixedA, "step").size()); // 160 tokens, 4 per step
    // same seed, same traffic: the same channel and, through the same impairment, the same NLL
    assertEquals(column(fixedA, "nll"), column(fixedB, "nll"));
    assertEquals(column(fixedA, "true_sigma"), column(fixedB, "true_sigma"));
    // every policy sees the same channel for the same step
    Path ppo = a.resolve("steps/bursty-s5-ppo.csv");
    assertEquals(column(fixedA, "true_sigma"), column(ppo, "true_sigma"));
    assertEquals(column(fixedA, "true_loss"), column(ppo, "true_loss"));
    for (String s : column(ppo, "split")) {
      int p = Integer.parseInt(s);
      assertTrue(p >= 1 && p <= 11, "live split " + p);
    }
    deleteTree(a);
    deleteTree(b);
  }

  private static void deleteTree(Path dir) throws Exception {
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
