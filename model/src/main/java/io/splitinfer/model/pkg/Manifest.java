package io.splitinfer.model.pkg;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.splitinfer.model.checkpoint.LlamaConfigIo;
import io.splitinfer.model.engine.ModelConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code manifest.json} of a model package: format version, model id, architecture, dims (as a
 * Hugging Face config), dtype, the part files and the SHA-256 and size of every file. The package
 * SHA-256 is the SHA-256 of the manifest's canonical JSON (keys sorted, no whitespace) without the
 * {@code package_sha256} field, so it covers every file through their hashes.
 *
 * @param formatVersion {@link #FORMAT_VERSION}
 * @param modelId a name for the model
 * @param architecture "LlamaForCausalLM"
 * @param dtype the package's weight format: "f32", "f16" or a quantized form such as
 *     "int4-g32-sym-a4" (see {@code io.splitinfer.model.onnx.WeightFormat})
 * @param config dims and hyper-parameters
 * @param embedFile embedding part
 * @param layerFiles decoder layer parts, layer 1 first
 * @param headFile head part
 * @param files every file of the package (parts, external data, tokenizer, extras) -> hash/size
 * @param weightFormats part file -> its weight format (manifest key {@code weight_formats}; empty
 *     in packages written before it existed, where every part is {@code dtype})
 * @param packageSha256 the package hash (as stored; see {@link #computePackageSha256()})
 */
public record Manifest(
    int formatVersion,
    String modelId,
    String architecture,
    String dtype,
    ModelConfig config,
    String embedFile,
    List<String> layerFiles,
    String headFile,
    Map<String, FileEntry> files,
    Map<String, String> weightFormats,
    String packageSha256) {

  public static final int FORMAT_VERSION = 1;
  public static final String FILE_NAME = "manifest.json";
  private static final ObjectMapper JSON =
      new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

  public Manifest {
    layerFiles = List.copyOf(layerFiles);
    files = java.util.Collections.unmodifiableMap(new TreeMap<>(files));
    weightFormats = java.util.Collections.unmodifiableMap(new TreeMap<>(weightFormats));
  }

  /** A manifest without per-part weight formats (every part is {@code dtype}). */
  public Manifest(
      int formatVersion,
      String modelId,
      String architecture,
      String dtype,
      ModelConfig config,
      String embedFile,
      List<String> layerFiles,
      String headFile,
      Map<String, FileEntry> files,
      String packageSha256) {
    this(
        formatVersion,
        modelId,
        architecture,
        dtype,
        config,
        embedFile,
        layerFiles,
        headFile,
        files,
        Map.of(),
        packageSha256);
  }

  /** The weight format of a part file (the package's {@code dtype} when not recorded). */
  public String weightFormat(String partFile) {
    return weightFormats.getOrDefault(partFile, dtype);
  }

  /** The weight format of decoder layer {@code layer} (1-based). */
  public String layerWeightFormat(int layer) {
    return weightFormat(layerFiles.get(layer - 1));
  }

  /**
   * One file of the package.
   *
   * @param sha256 lowercase hex
   * @param bytes size
   */
  public record FileEntry(String sha256, long bytes) {}

  /** The manifest tree without {@code package_sha256}. */
  private ObjectNode contentTree() {
    ObjectNode m = JSON.createObjectNode();
    m.put("format_version", formatVersion);
    m.put("model_id", modelId);
    m.put("architecture", architecture);
    m.put("dtype", dtype);
    m.put("num_layers", config.numLayers());
    m.set("config", LlamaConfigIo.toJson(config));
    ObjectNode parts = m.putObject("parts");
    parts.put("embed", embedFile);
    var layers = parts.putArray("layers");
    layerFiles.forEach(layers::add);
    parts.put("head", headFile);
    ObjectNode f = m.putObject("files");
    new TreeMap<>(files)
        .forEach((name, e) -> f.putObject(name).put("sha256", e.sha256()).put("bytes", e.bytes()));
    if (!weightFormats.isEmpty()) {
      ObjectNode w = m.putObject("weight_formats");
      weightFormats.forEach(w::put);
    }
    return m;
  }

  /** SHA-256 (hex) of the canonical content. */
  public String computePackageSha256() {
    try {
      JsonNode sorted = sortKeys(contentTree());
      byte[] canonical = JSON.writeValueAsString(sorted).getBytes(StandardCharsets.UTF_8);
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(canonical));
    } catch (IOException | NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode sortKeys(JsonNode n) {
    if (n.isObject()) {
      ObjectNode out = JSON.createObjectNode();
      TreeMap<String, JsonNode> sorted = new TreeMap<>();
      n.fields().forEachRemaining(e -> sorted.put(e.getKey(), sortKeys(e.getValue())));
      sorted.forEach(out::set);
      return out;
    }
    if (n.isArray()) {
      var out = JSON.createArrayNode();
      n.forEach(x -> out.add(sortKeys(x)));
      return out;
    }
    return n;
  }

  /** This manifest with {@code package_sha256} set to the computed hash. */
  public Manifest sealed() {
    return new Manifest(
        formatVersion,
        modelId,
        architecture,
        dtype,
        config,
        embedFile,
        layerFiles,
        headFile,
        files,
        weightFormats,
        computePackageSha256());
  }

  public void write(Path dir) throws IOException {
    ObjectNode m = contentTree();
    m.put("package_sha256", packageSha256);
    JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve(FILE_NAME).toFile(), m);
  }

  public static Manifest read(Path dir) throws IOException {
    Path file = dir.resolve(FILE_NAME);
    if (!Files.exists(file)) {
      throw new IOException("not a model package: no " + FILE_NAME + " in " + dir.toAbsolutePath());
    }
    JsonNode m = JSON.readTree(file.toFile());
    int version = m.path("format_version").asInt(-1);
    if (version != FORMAT_VERSION) {
      throw new IOException(
          file
              + ": unsupported format_version "
              + version
              + " (this build reads "
              + FORMAT_VERSION
              + ")");
    }
    ModelConfig config;
    try {
      config = LlamaConfigIo.parse(m.path("config"));
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": bad config: " + e.getMessage(), e);
    }
    if (m.path("num_layers").asInt(-1) != config.numLayers()) {
      throw new IOException(file + ": num_layers disagrees with config.num_hidden_layers");
    }
    List<String> layers = new ArrayList<>();
    m.path("parts").path("layers").forEach(x -> layers.add(x.asText()));
    Map<String, FileEntry> files = new TreeMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = m.path("files").fields(); it.hasNext(); ) {
      var e = it.next();
      files.put(
          e.getKey(),
          new FileEntry(e.getValue().path("sha256").asText(), e.getValue().path("bytes").asLong()));
    }
    Map<String, String> formats = new TreeMap<>();
    m.path("weight_formats")
        .fields()
        .forEachRemaining(e -> formats.put(e.getKey(), e.getValue().asText()));
    return new Manifest(
        version,
        m.path("model_id").asText(),
        m.path("architecture").asText(),
        m.path("dtype").asText(),
        config,
        m.path("parts").path("embed").asText(),
        layers,
        m.path("parts").path("head").asText(),
        files,
        formats,
        m.path("package_sha256").asText());
  }

  /** SHA-256 (hex) of a file, streamed. */
  public static String sha256(Path file) throws IOException {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      try (var in = Files.newInputStream(file)) {
        byte[] buf = new byte[1 << 20];
        int n;
        while ((n = in.read(buf)) > 0) {
          md.update(buf, 0, n);
        }
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
