package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.model.engine.InferenceEngine;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link EdgeSoak}: a tiny run in the default suite (4 UEs, 8 s, an edge restart every 3 s) and the
 * full one with {@code -Pheavy} (16 UEs, 10 minutes, a restart every 60 s; {@code -Dsoak.seconds=N}
 * shortens it). Both write target/soak/*.csv and print the start/end table. Every generation must
 * equal the monolithic model's, none may fail, and no session may be left when the UEs stop.
 */
class EdgeSoakTest {
  @TempDir Path dir;

  void soak(EdgeSoak.Config c, String csv) throws Exception {
    try (InferenceEngine engine = TestRig.tinyEngine(dir, EdgeSoak.LAYERS, 21)) {
      EdgeSoak.Result r = new EdgeSoak(c, engine).run(Path.of("target", "soak", csv));
      System.out.println(EdgeSoak.table(c, r));
      assertTrue(r.generations() > 0, "some generations ran");
      assertEquals(0, r.mismatches(), "outputs identical to the monolithic model");
      assertEquals(0, r.failures(), "no generation failed");
      assertEquals(0, r.sessionsAfter(), "no session left");
    }
  }

  @Test
  void tinySoak() throws Exception {
    soak(new EdgeSoak.Config(4, Duration.ofSeconds(8), Duration.ofSeconds(3), 16, 1), "tiny.csv");
  }

  @Test
  @Tag("heavy")
  void fullSoak() throws Exception {
    long seconds = Long.getLong("soak.seconds", 600);
    soak(
        new EdgeSoak.Config(
            16, Duration.ofSeconds(seconds), Duration.ofSeconds(Math.max(5, seconds / 10)), 24, 2),
        "soak.csv");
  }
}
