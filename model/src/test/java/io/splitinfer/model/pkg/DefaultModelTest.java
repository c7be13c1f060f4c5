package io.splitinfer.model.pkg;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.model.TestModels;
import io.splitinfer.model.checkpoint.DType;
import java.io.IOException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DefaultModelTest {
  @TempDir Path dir;

  private URLClassLoader resources() throws IOException {
    Path root = dir.resolve("classpath");
    Path res = root.resolve(DefaultModel.RESOURCE_DIR);
    TestModels.writeTiny(res, 2, true, DType.F16, 8);
    Files.writeString(res.resolve("heldout.txt"), "the thin one in the Union\n");
    return new URLClassLoader(new URL[] {root.toUri().toURL()}, null);
  }

  @Test
  void extractsConvertsOnceAndReuses() throws Exception {
    try (URLClassLoader cl = resources()) {
      Path home = dir.resolve("home");
      DefaultModel m = new DefaultModel(home, cl);
      assertTrue(m.embedded());
      // concurrent first uses agree on one package
      ExecutorService pool = Executors.newFixedThreadPool(3);
      List<Future<ModelPackage>> fs = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        fs.add(pool.submit((Callable<ModelPackage>) m::locate));
      }
      String sha = null;
      for (Future<ModelPackage> f : fs) {
        ModelPackage p = f.get();
        sha = sha == null ? p.sha256() : sha;
        assertEquals(sha, p.sha256());
      }
      pool.shutdown();
      ModelPackage p = m.locate();
      assertEquals(home.resolve("models").resolve(m.resourceSha256().substring(0, 16)), p.dir());
      assertEquals("f32", p.manifest().dtype());
      assertTrue(p.file("heldout.txt").isPresent());
      try (var s = Files.list(home.resolve("models"))) {
        assertEquals(1, s.count(), "temporary directories are cleaned up");
      }
      long modified = Files.getLastModifiedTime(p.dir().resolve("manifest.json")).toMillis();
      assertEquals(
          modified,
          Files.getLastModifiedTime(m.locate().dir().resolve("manifest.json")).toMillis());
      // a corrupted cache is rebuilt
      Files.writeString(p.dir().resolve("embed.onnx"), "garbage");
      assertEquals(sha, m.locate().sha256());
    }
  }

  @Test
  void homeFromEnvironmentAndMissingResources() throws Exception {
    assertEquals(Path.of("/x/y"), DefaultModel.defaultHome(Map.of("SPLITINFER_HOME", "/x/y")));
    assertTrue(DefaultModel.defaultHome(Map.of()).endsWith(Path.of(".cache", "splitinfer")));
    try (URLClassLoader empty = new URLClassLoader(new URL[0], null)) {
      DefaultModel m = new DefaultModel(dir, empty);
      assertFalse(m.embedded());
      IOException e = assertThrows(IOException.class, m::locate);
      assertTrue(e.getMessage().contains("--model"), e.getMessage());
    }
  }
}
