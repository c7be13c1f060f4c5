package io.splitinfer.model.pkg;

import io.splitinfer.model.engine.EngineKind;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.onnx.OnnxEngine;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.tokenizer.HfTokenizer;
import io.splitinfer.model.tokenizer.TextTokenizer;
import io.splitinfer.model.vector.VectorEngine;
import io.splitinfer.model.vector.VectorWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/**
 * A verified model package directory (see {@link Manifest}). {@link #open} checks the manifest's
 * own hash, then the size and SHA-256 of every file, and refuses a package that fails any check.
 * Holds no native resources; {@link #openEngine} and {@link #openTokenizer} create them.
 */
public final class ModelPackage {
  private final Path dir;
  private final Manifest manifest;

  private ModelPackage(Path dir, Manifest manifest) {
    this.dir = dir;
    this.manifest = manifest;
  }

  /** Opens and verifies the package in {@code dir}. */
  public static ModelPackage open(Path dir) throws IOException {
    Manifest m = Manifest.read(dir);
    String computed = m.computePackageSha256();
    if (!computed.equals(m.packageSha256())) {
      throw new CorruptPackageException(
          dir
              + ": manifest.json was altered: its content hashes to "
              + computed
              + " but it records package_sha256 "
              + m.packageSha256());
    }
    if (m.layerFiles().size() != m.config().numLayers()) {
      throw new CorruptPackageException(
          dir
              + ": manifest lists "
              + m.layerFiles().size()
              + " layer parts for "
              + m.config().numLayers()
              + " layers");
    }
    for (String part : partNames(m)) {
      if (!m.files().containsKey(part)) {
        throw new CorruptPackageException(dir + ": part " + part + " has no hash in the manifest");
      }
    }
    for (Map.Entry<String, Manifest.FileEntry> e : m.files().entrySet()) {
      Path f = dir.resolve(e.getKey());
      if (!f.normalize().startsWith(dir.normalize()) || !Files.isRegularFile(f)) {
        throw new CorruptPackageException(dir + ": file " + e.getKey() + " is missing");
      }
      long size = Files.size(f);
      if (size != e.getValue().bytes()) {
        throw new CorruptPackageException(
            dir
                + ": "
                + e.getKey()
                + " has "
                + size
                + " bytes, the manifest says "
                + e.getValue().bytes());
      }
      String sha = Manifest.sha256(f);
      if (!sha.equals(e.getValue().sha256())) {
        throw new CorruptPackageException(
            dir
                + ": "
                + e.getKey()
                + " is corrupt: SHA-256 "
                + sha
                + ", the manifest says "
                + e.getValue().sha256());
      }
    }
    return new ModelPackage(dir, m);
  }

  /** Opens the package and checks that it is the expected one (by package SHA-256 or prefix). */
  public static ModelPackage open(Path dir, String expectedSha256) throws IOException {
    ModelPackage p = open(dir);
    if (expectedSha256 != null
        && !expectedSha256.isEmpty()
        && !p.sha256().startsWith(expectedSha256.toLowerCase(java.util.Locale.ROOT))) {
      throw new CorruptPackageException(
          dir + " holds package " + p.sha256() + ", expected " + expectedSha256);
    }
    return p;
  }

  private static java.util.List<String> partNames(Manifest m) {
    var l = new java.util.ArrayList<String>();
    l.add(m.embedFile());
    l.addAll(m.layerFiles());
    l.add(m.headFile());
    return l;
  }

  public Path dir() {
    return dir;
  }

  public Manifest manifest() {
    return manifest;
  }

  public ModelConfig config() {
    return manifest.config();
  }

  public String id() {
    return manifest.modelId();
  }

  /** The package SHA-256 (hex). */
  public String sha256() {
    return manifest.packageSha256();
  }

  public Path embedPart() {
    return dir.resolve(manifest.embedFile());
  }

  /** The part of decoder layer {@code layer} (1-based). */
  public Path layerPart(int layer) {
    return dir.resolve(manifest.layerFiles().get(layer - 1));
  }

  public Path headPart() {
    return dir.resolve(manifest.headFile());
  }

  /** A file carried in the package (e.g. {@code heldout.txt}), if present and listed. */
  public Optional<Path> file(String name) {
    return manifest.files().containsKey(name) ? Optional.of(dir.resolve(name)) : Optional.empty();
  }

  public boolean hasTokenizer() {
    return manifest.files().containsKey("tokenizer.json");
  }

  /** The package's tokenizer; fails when it has none. */
  public TextTokenizer openTokenizer() throws IOException {
    if (!hasTokenizer()) {
      throw new IOException("package " + dir + " has no tokenizer.json");
    }
    return HfTokenizer.open(dir.resolve("tokenizer.json"), config().vocabSize());
  }

  /** An ONNX Runtime engine over the parts. */
  public OnnxEngine openEngine(OnnxOptions options) {
    return OnnxEngine.open(this, options);
  }

  /**
   * An engine of the given kind: ONNX Runtime with {@code options}, or the vector engine with
   * {@code options.intraOpThreads()} threads (0 = 1) over the parts' float weights (it reads them
   * all into the heap; quantized packages are refused).
   */
  public InferenceEngine openEngine(EngineKind kind, OnnxOptions options) throws IOException {
    return switch (kind) {
      case ONNX -> openEngine(options);
      case VECTOR ->
          new VectorEngine(VectorWeights.of(this), Math.max(1, options.intraOpThreads()));
    };
  }

  @Override
  public String toString() {
    return id()
        + " ("
        + sha256().substring(0, 12)
        + ", "
        + config().numLayers()
        + " layers, "
        + manifest.dtype()
        + ") at "
        + dir;
  }
}
