package io.splitinfer.model.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.model.TestModels;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.SplitRunner;
import io.splitinfer.model.pkg.CorruptPackageException;
import io.splitinfer.model.pkg.Manifest;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.reference.ReferenceEngine;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnnxEngineTest {
  private static final int LAYERS = 4;

  @TempDir Path dir;

  private ModelPackage convert(Path ck, DType dtype, boolean external) throws IOException {
    OnnxConverter.Options o = OnnxConverter.Options.of(dtype).withModelId("tiny");
    if (external) {
      o = o.withForcedExternalData(1024);
    }
    Path out = dir.resolve("pkg-" + dtype + "-" + external);
    new OnnxConverter(o).convert(ck, out);
    return ModelPackage.open(out);
  }

  private static int[] ids(int n, long seed) {
    return new Random(seed).ints(n, 0, TestModels.tiny(1, true).vocabSize()).toArray();
  }

  @Test
  void onnxMatchesReferenceAndEverySplitMatchesWhole() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), LAYERS, false, DType.F32, 5);
    ModelPackage pkg = convert(ck, DType.F32, false);
    assertEquals("tiny", pkg.id());
    assertEquals(LAYERS, pkg.manifest().layerFiles().size());
    int[] prompt = ids(9, 1);
    int[] next = ids(3, 2);
    try (ReferenceEngine ref = ReferenceEngine.load(ck);
        OnnxEngine onnx = pkg.openEngine(OnnxOptions.defaults().withThreads(1, 1))) {
      assertEquals("CPU", onnx.provider());
      // prefill then a 3-token chunk at P = 9 (T > 1 with P > 0 exercises the mask)
      float[] r1 = TestModels.logits(ref, 0, prompt, next);
      float[] o1 = TestModels.logits(onnx, 0, prompt, next);
      assertTrue(
          TestModels.maxAbsDiff(r1, o1) < 1e-4f,
          "onnx vs reference " + TestModels.maxAbsDiff(r1, o1));
      float[] whole = TestModels.logits(onnx, 0, prompt);
      assertTrue(TestModels.maxAbsDiff(TestModels.logits(ref, 0, prompt), whole) < 1e-4f);
      assertArrayEquals(ref.embed(prompt), onnx.embed(prompt), 0f);
      for (int p = 0; p <= LAYERS; p++) {
        float[] split = TestModels.logits(onnx, p, prompt);
        assertTrue(
            TestModels.maxAbsDiff(whole, split) <= 1e-5f,
            "split " + p + ": " + TestModels.maxAbsDiff(whole, split));
        float[] splitNext = TestModels.logits(onnx, p, prompt, next);
        assertTrue(TestModels.maxAbsDiff(o1, splitNext) <= 1e-5f, "split " + p + " + chunk");
      }
      // a split across two different engines: the UE on the reference, the edge on ONNX
      try (SplitRunner mixed = new SplitRunner(ref, onnx, 2)) {
        assertTrue(TestModels.maxAbsDiff(whole, mixed.forward(prompt)) < 1e-4f);
      }
    }
  }

  /**
   * A 300-token prompt in prefill chunks of 64, then decode steps: the KV buffers grow past their
   * first 256-position step (copied, old buffers freed) and the logits still match the reference.
   */
  @Test
  void kvBuffersGrowPastAStepAndChunkedPrefillMatchesReference() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), 2, false, DType.F32, 17);
    ModelPackage pkg = convert(ck, DType.F32, false);
    int[] prompt = ids(300, 7);
    int[] next = ids(2, 8);
    try (ReferenceEngine ref = ReferenceEngine.load(ck);
        OnnxEngine onnx =
            pkg.openEngine(OnnxOptions.defaults().withThreads(1, 1).withPrefillChunk(64))) {
      float diff =
          TestModels.maxAbsDiff(
              TestModels.logits(ref, 0, prompt, next), TestModels.logits(onnx, 1, prompt, next));
      assertTrue(diff < 1e-4f, "300 tokens, chunks of 64: " + diff);
    }
  }

  @Test
  void greedyWithKvCacheEqualsRecompute() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), LAYERS, true, DType.F32, 9);
    ModelPackage pkg = convert(ck, DType.F32, false);
    int[] prompt = ids(6, 3);
    try (OnnxEngine onnx = pkg.openEngine(OnnxOptions.defaults());
        ReferenceEngine ref = ReferenceEngine.load(ck)) {
      int[] cached = SplitRunner.greedy(onnx, 2, prompt, 32);
      assertArrayEquals(SplitRunner.greedyRecompute(onnx, prompt, 32), cached);
      assertArrayEquals(SplitRunner.greedy(ref, 0, prompt, 32), cached);
    }
  }

  @Test
  void f16PartsWithExternalDataMatchTheF16Checkpoint() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), 2, false, DType.F16, 13);
    ModelPackage pkg = convert(ck, DType.F16, true);
    assertTrue(pkg.manifest().files().containsKey("layer_01.onnx.data"), "external data written");
    assertEquals("f16", pkg.manifest().dtype());
    int[] prompt = ids(7, 4);
    try (OnnxEngine onnx = pkg.openEngine(OnnxOptions.defaults().withPreload(true));
        ReferenceEngine ref = ReferenceEngine.load(ck)) {
      float diff =
          TestModels.maxAbsDiff(
              TestModels.logits(ref, 0, prompt), TestModels.logits(onnx, 1, prompt));
      assertTrue(diff < 1e-4f, "diff " + diff);
    }
  }

  @Test
  void kvExportImportMovesLayersBetweenCaches() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), LAYERS, false, DType.F32, 21);
    ModelPackage pkg = convert(ck, DType.F32, false);
    int[] a = ids(5, 7);
    int[] b = ids(2, 8);
    try (OnnxEngine e = pkg.openEngine(OnnxOptions.defaults())) {
      float[] expected = TestModels.logits(e, 3, a, b);
      try (KvCache ue = e.newCache(1, 3);
          KvCache edge = e.newCache(4, LAYERS)) {
        e.runLayers(4, LAYERS, e.runLayers(1, 3, e.embed(a), a.length, ue), a.length, edge);
        // split moves from 3 to 1: layers 2..3 go from the UE to the edge
        edge.setLayerRange(2, LAYERS);
        for (int l = 2; l <= 3; l++) {
          edge.importLayer(
              l, 0, a.length, ue.exportKeys(l, 0, a.length), ue.exportValues(l, 0, a.length));
        }
        ue.setLayerRange(1, 1);
        float[] h = e.runLayers(1, 1, e.embed(b), b.length, ue);
        float[] got = e.head(e.runLayers(2, LAYERS, h, b.length, edge), b.length);
        assertTrue(TestModels.maxAbsDiff(expected, got) <= 1e-5f);
      }
    }
  }

  @Test
  void refusesCorruptPartAlteredManifestAndMismatchedDims() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), 2, false, DType.F32, 1);
    ModelPackage pkg = convert(ck, DType.F32, false);
    Path p = pkg.dir();

    // flip one byte of a layer part
    Path bad = dir.resolve("flipped");
    copyDir(p, bad);
    byte[] bytes = Files.readAllBytes(bad.resolve("layer_02.onnx"));
    bytes[bytes.length / 2] ^= 0x01;
    Files.write(bad.resolve("layer_02.onnx"), bytes);
    CorruptPackageException e =
        assertThrows(CorruptPackageException.class, () -> ModelPackage.open(bad));
    assertTrue(e.getMessage().contains("layer_02.onnx is corrupt"), e.getMessage());

    // edit the manifest's dims without resealing
    Path edited = dir.resolve("edited");
    copyDir(p, edited);
    String m = Files.readString(edited.resolve("manifest.json"));
    Files.writeString(
        edited.resolve("manifest.json"), m.replace("\"hidden_size\" : 32", "\"hidden_size\" : 64"));
    e = assertThrows(CorruptPackageException.class, () -> ModelPackage.open(edited));
    assertTrue(e.getMessage().contains("manifest.json was altered"), e.getMessage());

    // a resealed manifest whose dims disagree with the parts: refused when the parts load
    Path other = dir.resolve("other-ck");
    new io.splitinfer.model.checkpoint.RandomCheckpoint(
            new io.splitinfer.model.engine.ModelConfig(
                2,
                32,
                64,
                4,
                4,
                8,
                97,
                256,
                1e-5,
                10000.0,
                false,
                1,
                2,
                io.splitinfer.model.engine.RopeScaling.NONE),
            DType.F32,
            2,
            1)
        .write(other);
    Path otherPkg = dir.resolve("other-pkg");
    new OnnxConverter(OnnxConverter.Options.of(DType.F32)).convert(other, otherPkg);
    Path mixed = dir.resolve("mixed");
    copyDir(p, mixed);
    Files.copy(
        otherPkg.resolve("layer_02.onnx"),
        mixed.resolve("layer_02.onnx"),
        StandardCopyOption.REPLACE_EXISTING);
    Manifest old = Manifest.read(mixed);
    Map<String, Manifest.FileEntry> files = new HashMap<>(old.files());
    Path f = mixed.resolve("layer_02.onnx");
    files.put("layer_02.onnx", new Manifest.FileEntry(Manifest.sha256(f), Files.size(f)));
    new Manifest(
            old.formatVersion(),
            old.modelId(),
            old.architecture(),
            old.dtype(),
            old.config(),
            old.embedFile(),
            old.layerFiles(),
            old.headFile(),
            files,
            "")
        .sealed()
        .write(mixed);
    ModelPackage mixedPkg = ModelPackage.open(mixed);
    IllegalStateException dims =
        assertThrows(
            IllegalStateException.class,
            () -> mixedPkg.openEngine(OnnxOptions.defaults().withPreload(true)));
    assertTrue(
        dims.getMessage().contains("layer_02.onnx: 'past_key' has dims [-1, 4, -1, 8]"),
        dims.getMessage());

    // wrong expected package hash
    assertThrows(CorruptPackageException.class, () -> ModelPackage.open(p, "00ff"));
    assertEquals(pkg.sha256(), ModelPackage.open(p, pkg.sha256().substring(0, 8)).sha256());
  }

  @Test
  void cudaRequestFallsBackToCpu() throws Exception {
    Path ck = TestModels.writeTiny(dir.resolve("ck"), 1, true, DType.F32, 1);
    ModelPackage pkg = convert(ck, DType.F32, false);
    try (OnnxEngine e = pkg.openEngine(OnnxOptions.defaults().withCuda(true))) {
      assertTrue(Arrays.asList("CPU", "CUDA").contains(e.provider()));
      assertEquals(97 * 2, e.head(new float[64], 2).length);
    }
  }

  static void copyDir(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (var s = Files.list(from)) {
      for (Path f : s.toList()) {
        Files.copy(f, to.resolve(f.getFileName()));
      }
    }
  }
}
