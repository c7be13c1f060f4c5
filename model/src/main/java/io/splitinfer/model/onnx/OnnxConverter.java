package io.splitinfer.model.onnx;

import ai.onnx.proto.OnnxMl.ModelProto;
import io.splitinfer.model.checkpoint.Checkpoint;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.pkg.Manifest;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Converts a Hugging Face Llama checkpoint into a model package: {@code embed.onnx}, {@code
 * layer_XX.onnx} per decoder layer, {@code head.onnx}, the tokenizer files and {@code
 * manifest.json}. One layer is in memory at a time.
 */
public final class OnnxConverter {
  private static final Logger LOG = LoggerFactory.getLogger(OnnxConverter.class);

  /** Tokenizer/generation files copied from the checkpoint when present. */
  public static final List<String> TOKENIZER_FILES =
      List.of(
          "tokenizer.json",
          "tokenizer_config.json",
          "special_tokens_map.json",
          "generation_config.json");

  /**
   * Revision of the parts this converter writes (2: layer parts read the KV buffers in place via
   * {@code past_length}; 3: a leading batch axis B on the KV inputs and outputs, so decode steps of
   * several sessions run in one call; 4: the same I/O with fewer nodes: fused RMSNorm, one QKV
   * projection, RoPE on query and key heads together, B and T from the shared inputs). Keys the
   * default model's conversion cache.
   */
  public static final String PART_FORMAT_REVISION = "parts-4";

  /** Initializers of at least this many bytes go to external data when a part would pass 2 GB. */
  public static final long DEFAULT_EXTERNAL_THRESHOLD = 1L << 20;

  /**
   * Conversion options.
   *
   * @param weights weight format of every part (see {@link WeightFormat})
   * @param layerWeights per-layer overrides of {@code weights} (layer number, 1-based -> format),
   *     e.g. int4 for the UE's layers 1..p and f32 for the edge's
   * @param modelId id written to the manifest (null: the checkpoint directory's name)
   * @param extraFiles further files of the checkpoint directory to carry into the package
   * @param forceExternalData put every large initializer into external data (tests; otherwise only
   *     parts whose weights exceed ~1.9 GB use it)
   * @param externalThreshold bytes from which an initializer goes external, when external
   */
  public record Options(
      WeightFormat weights,
      Map<Integer, WeightFormat> layerWeights,
      String modelId,
      List<String> extraFiles,
      boolean forceExternalData,
      long externalThreshold) {
    public Options {
      extraFiles = List.copyOf(extraFiles);
      layerWeights = Map.copyOf(layerWeights);
    }

    public static Options of(DType dtype) {
      return of(WeightFormat.of(dtype));
    }

    public static Options of(WeightFormat weights) {
      return new Options(weights, Map.of(), null, List.of(), false, DEFAULT_EXTERNAL_THRESHOLD);
    }

    public Options withModelId(String id) {
      return new Options(
          weights, layerWeights, id, extraFiles, forceExternalData, externalThreshold);
    }

    public Options withExtraFiles(List<String> extra) {
      return new Options(
          weights, layerWeights, modelId, extra, forceExternalData, externalThreshold);
    }

    public Options withForcedExternalData(long threshold) {
      return new Options(weights, layerWeights, modelId, extraFiles, true, threshold);
    }

    /** Stores layers {@code from..to} (1-based, inclusive) as {@code format}. */
    public Options withLayerWeights(int from, int to, WeightFormat format) {
      Map<Integer, WeightFormat> m = new TreeMap<>(layerWeights);
      for (int l = from; l <= to; l++) {
        m.put(l, format);
      }
      return new Options(weights, m, modelId, extraFiles, forceExternalData, externalThreshold);
    }

    /** Format of layer {@code l}. */
    public WeightFormat layerFormat(int l) {
      return layerWeights.getOrDefault(l, weights);
    }
  }

  private final Options options;

  public OnnxConverter(Options options) {
    this.options = options;
  }

  /** File name of layer {@code l}'s part. */
  public static String layerFileName(int layer, int layers) {
    return layers < 100
        ? String.format("layer_%02d.onnx", layer)
        : String.format("layer_%03d.onnx", layer);
  }

  /**
   * Converts {@code checkpointDir} into a new package at {@code outDir} (created; must be empty).
   */
  public Manifest convert(Path checkpointDir, Path outDir) throws IOException {
    Files.createDirectories(outDir);
    try (var s = Files.list(outDir)) {
      if (s.findAny().isPresent()) {
        throw new IOException("output directory " + outDir + " is not empty");
      }
    }
    long t0 = System.nanoTime();
    try (Checkpoint ck = Checkpoint.open(checkpointDir)) {
      ModelConfig c = ck.config();
      WeightFormat wf = options.weights();
      for (int l : options.layerWeights().keySet()) {
        if (l < 1 || l > c.numLayers()) {
          throw new IllegalArgumentException(
              "layer " + l + " of a weight override is outside 1.." + c.numLayers());
        }
      }
      Map<String, String> formats = new TreeMap<>();
      List<String> written = new ArrayList<>();
      LOG.info(
          "converting {} ({} layers, d {}, vocab {}, stored {}) to {} parts",
          checkpointDir,
          c.numLayers(),
          c.hiddenSize(),
          c.vocabSize(),
          ck.dtype(),
          wf);
      long embedBytes = (long) c.vocabSize() * c.hiddenSize() * wf.floatDType().bytes();
      write(
          outDir,
          "embed.onnx",
          written,
          embedBytes,
          (data, thr) -> LlamaGraphs.embed(c, ck.embedding(), wf, data, thr));
      formats.put("embed.onnx", wf.quantized() ? "int8-row-sym" : wf.toString());
      List<String> layerFiles = new ArrayList<>();
      for (int l = 1; l <= c.numLayers(); l++) {
        int layer = l;
        String name = layerFileName(l, c.numLayers());
        layerFiles.add(name);
        WeightFormat lf = options.layerFormat(l);
        formats.put(name, lf.toString());
        write(
            outDir,
            name,
            written,
            c.layerParameters() * lf.kind().bits() / 8,
            (data, thr) -> LlamaGraphs.layer(c, layer, ck.layer(layer), lf, data, thr));
      }
      write(
          outDir,
          "head.onnx",
          written,
          embedBytes,
          (data, thr) -> LlamaGraphs.head(c, ck.finalNorm(), ck.lmHead(), wf, data, thr));
      formats.put("head.onnx", wf.headFormat().toString());
      List<String> copies = new ArrayList<>(TOKENIZER_FILES);
      copies.addAll(options.extraFiles());
      for (String f : copies) {
        Path src = checkpointDir.resolve(f);
        if (Files.isRegularFile(src) && !written.contains(f)) {
          Files.copy(src, outDir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
          written.add(f);
        }
      }
      Map<String, Manifest.FileEntry> files = new TreeMap<>();
      for (String f : written) {
        Path p = outDir.resolve(f);
        files.put(f, new Manifest.FileEntry(Manifest.sha256(p), Files.size(p)));
      }
      String id =
          options.modelId() != null
              ? options.modelId()
              : checkpointDir.toAbsolutePath().normalize().getFileName().toString();
      Manifest m =
          new Manifest(
                  Manifest.FORMAT_VERSION,
                  id,
                  "LlamaForCausalLM",
                  wf.toString(),
                  c,
                  "embed.onnx",
                  layerFiles,
                  "head.onnx",
                  files,
                  formats,
                  "")
              .sealed();
      m.write(outDir);
      LOG.info(
          "wrote package {} ({} files, sha256 {}) in {} s",
          outDir,
          files.size() + 1,
          m.packageSha256(),
          String.format("%.1f", (System.nanoTime() - t0) / 1e9));
      return m;
    }
  }

  @FunctionalInterface
  private interface PartBuilder {
    ModelProto build(Path dataFile, long threshold) throws IOException;
  }

  private void write(
      Path outDir, String name, List<String> written, long weightBytes, PartBuilder builder)
      throws IOException {
    boolean external = options.forceExternalData() || weightBytes > 1_900_000_000L;
    Path data = outDir.resolve(name + ".data");
    long threshold =
        options.forceExternalData() ? options.externalThreshold() : DEFAULT_EXTERNAL_THRESHOLD;
    ModelProto model = builder.build(external ? data : null, threshold);
    try (OutputStream out =
        new java.io.BufferedOutputStream(Files.newOutputStream(outDir.resolve(name)), 1 << 20)) {
      model.writeTo(out);
    }
    written.add(name);
    if (Files.exists(data)) {
      written.add(name + ".data");
    }
  }
}
