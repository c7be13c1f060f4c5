package io.splitinfer.model.pkg;

import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.onnx.OnnxConverter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded default model: a Hugging Face checkpoint shipped as classpath resources under
 * {@value #RESOURCE_DIR}. On first use it is extracted and converted (f32) into {@code
 * <home>/models/<sha-prefix>} where home is {@code $SPLITINFER_HOME} or {@code
 * ~/.cache/splitinfer}; later uses open that package. The package directory appears by an atomic
 * rename of a finished temporary directory, so concurrent processes are safe.
 */
public final class DefaultModel {
  private static final Logger LOG = LoggerFactory.getLogger(DefaultModel.class);
  public static final String RESOURCE_DIR = "splitinfer/default-model/";

  /** Files of the embedded checkpoint; the first four are required. */
  public static final List<String> FILES =
      List.of(
          "config.json",
          "model.safetensors",
          "tokenizer.json",
          "tokenizer_config.json",
          "heldout.txt",
          "reference.json");

  private static final List<String> EXTRAS = List.of("heldout.txt", "reference.json");

  private final Path home;
  private final ClassLoader loader;

  /**
   * @param home cache root ({@code <home>/models/<sha-prefix>} holds the package)
   * @param loader where the resources are
   */
  public DefaultModel(Path home, ClassLoader loader) {
    this.home = home;
    this.loader = loader;
  }

  /** The cache root of this process: {@code $SPLITINFER_HOME} or {@code ~/.cache/splitinfer}. */
  public static Path defaultHome(Map<String, String> env) {
    String h = env.get("SPLITINFER_HOME");
    if (h != null && !h.isBlank()) {
      return Path.of(h);
    }
    return Path.of(System.getProperty("user.home"), ".cache", "splitinfer");
  }

  /** The default model as this process finds it (environment, this jar's resources). */
  public static DefaultModel forProcess() {
    return new DefaultModel(defaultHome(System.getenv()), DefaultModel.class.getClassLoader());
  }

  /** Whether the checkpoint resources are on the classpath. */
  public boolean embedded() {
    return loader.getResource(RESOURCE_DIR + "config.json") != null
        && loader.getResource(RESOURCE_DIR + "model.safetensors") != null;
  }

  /** SHA-256 over the embedded files (names and contents), hex. */
  public String resourceSha256() throws IOException {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      // the converter's part format is part of the key: a cache of older parts is rebuilt
      md.update(
          OnnxConverter.PART_FORMAT_REVISION.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      for (String f : FILES) {
        try (InputStream in = loader.getResourceAsStream(RESOURCE_DIR + f)) {
          if (in == null) {
            continue;
          }
          md.update(f.getBytes(java.nio.charset.StandardCharsets.UTF_8));
          md.update((byte) 0);
          try (DigestInputStream d = new DigestInputStream(in, md)) {
            d.transferTo(java.io.OutputStream.nullOutputStream());
          }
        }
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The package of the default model, converting it on first use. */
  public ModelPackage locate() throws IOException {
    if (!embedded()) {
      throw new IOException(
          "no embedded default model on the classpath (" + RESOURCE_DIR + "); pass --model DIR");
    }
    String sha = resourceSha256();
    Path models = home.resolve("models");
    Path target = models.resolve(sha.substring(0, 16));
    if (Files.exists(target.resolve(Manifest.FILE_NAME))) {
      try {
        return ModelPackage.open(target);
      } catch (CorruptPackageException e) {
        Path aside = models.resolve(target.getFileName() + ".corrupt-" + System.nanoTime());
        LOG.warn(
            "cached default model is corrupt ({}); moving it to {} and rebuilding",
            e.getMessage(),
            aside);
        Files.move(target, aside);
      }
    }
    Files.createDirectories(models);
    String tag =
        target.getFileName() + "-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
    Path ckpt = models.resolve(".checkpoint-" + tag);
    Path tmp = models.resolve(".tmp-" + tag);
    try {
      LOG.info("preparing the embedded default model in {} (first use)", target);
      extractCheckpoint(ckpt);
      new OnnxConverter(
              OnnxConverter.Options.of(DType.F32)
                  .withModelId("splitinfer-default-" + sha.substring(0, 12))
                  .withExtraFiles(EXTRAS))
          .convert(ckpt, tmp);
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("cannot atomically rename into " + models, e);
      } catch (IOException e) {
        // rename(2) onto a non-empty directory: another process (or thread) won the race
        if (!Files.exists(target.resolve(Manifest.FILE_NAME))) {
          throw e;
        }
        LOG.info("another process prepared {} first; using it", target);
      }
      return ModelPackage.open(target);
    } finally {
      deleteTree(ckpt);
      deleteTree(tmp);
    }
  }

  /** Writes the embedded checkpoint (Hugging Face layout) into {@code dir}. */
  public void extractCheckpoint(Path dir) throws IOException {
    if (!embedded()) {
      throw new IOException("no embedded default model on the classpath (" + RESOURCE_DIR + ")");
    }
    Files.createDirectories(dir);
    for (String f : FILES) {
      try (InputStream in = loader.getResourceAsStream(RESOURCE_DIR + f)) {
        if (in != null) {
          Files.copy(in, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
        }
      }
    }
  }

  /** Deletes a directory tree (if present). */
  public static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(x);
      }
    }
  }
}
