package io.splitinfer.model.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.engine.RopeScaling;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Reads and writes Hugging Face {@code config.json} of Llama-family decoders. */
public final class LlamaConfigIo {
  private static final ObjectMapper JSON = new ObjectMapper();

  private LlamaConfigIo() {}

  /** Reads {@code dir/config.json}. */
  public static ModelConfig read(Path dir) throws IOException {
    Path file = Files.isDirectory(dir) ? dir.resolve("config.json") : dir;
    if (!Files.exists(file)) {
      throw new IOException("no config.json in " + dir.toAbsolutePath());
    }
    try {
      return parse(JSON.readTree(file.toFile()));
    } catch (IllegalArgumentException e) {
      throw new IOException(file + ": " + e.getMessage(), e);
    }
  }

  /** Parses a config.json tree. */
  public static ModelConfig parse(JsonNode c) {
    String type = c.path("model_type").asText("llama").toLowerCase(Locale.ROOT);
    if (!type.equals("llama") && !type.equals("mistral")) {
      throw new IllegalArgumentException(
          "model_type '" + type + "' is not a Llama-family decoder (supported: llama, mistral)");
    }
    if (c.path("attention_bias").asBoolean(false) || c.path("mlp_bias").asBoolean(false)) {
      throw new IllegalArgumentException("attention_bias / mlp_bias are not supported");
    }
    String act = c.path("hidden_act").asText("silu");
    if (!act.equals("silu")) {
      throw new IllegalArgumentException("hidden_act '" + act + "' is not supported (silu only)");
    }
    int maxPos = c.path("max_position_embeddings").asInt(2048);
    if (c.hasNonNull("sliding_window") && c.path("sliding_window").asInt() < maxPos) {
      throw new IllegalArgumentException("sliding-window attention is not supported");
    }
    int hidden = required(c, "hidden_size");
    int heads = required(c, "num_attention_heads");
    int kvHeads =
        c.path("num_key_value_heads").isNull() || c.path("num_key_value_heads").isMissingNode()
            ? heads
            : c.path("num_key_value_heads").asInt();
    int headDim = c.hasNonNull("head_dim") ? c.get("head_dim").asInt() : hidden / heads;
    RopeScaling scaling = ropeScaling(c.path("rope_scaling"));
    return new ModelConfig(
        required(c, "num_hidden_layers"),
        hidden,
        required(c, "intermediate_size"),
        heads,
        kvHeads,
        headDim,
        required(c, "vocab_size"),
        maxPos,
        c.path("rms_norm_eps").asDouble(1e-6),
        c.path("rope_theta").asDouble(10000.0),
        c.path("tie_word_embeddings").asBoolean(false),
        tokenId(c.path("bos_token_id")),
        tokenId(c.path("eos_token_id")),
        scaling);
  }

  private static RopeScaling ropeScaling(JsonNode s) {
    if (s.isMissingNode() || s.isNull()) {
      return RopeScaling.NONE;
    }
    String type = s.hasNonNull("rope_type") ? s.get("rope_type").asText() : s.path("type").asText();
    type = type.toLowerCase(Locale.ROOT);
    double factor = s.path("factor").asDouble(1.0);
    return switch (type) {
      case "default", "" -> RopeScaling.NONE;
      case "linear" -> RopeScaling.linear(factor);
      case "llama3" ->
          new RopeScaling(
              "llama3",
              factor,
              s.path("low_freq_factor").asDouble(1.0),
              s.path("high_freq_factor").asDouble(4.0),
              s.path("original_max_position_embeddings").asInt(8192));
      default ->
          throw new IllegalArgumentException(
              "unsupported rope_scaling type '"
                  + type
                  + "' (supported: linear, llama3; dynamic/yarn/longrope are not)");
    };
  }

  private static int tokenId(JsonNode n) {
    if (n.isArray()) {
      return n.isEmpty() ? -1 : n.get(0).asInt();
    }
    return n.isNumber() ? n.asInt() : -1;
  }

  private static int required(JsonNode c, String field) {
    if (!c.hasNonNull(field)) {
      throw new IllegalArgumentException("config.json lacks " + field);
    }
    return c.get(field).asInt();
  }

  /** The config.json tree of a config (LlamaForCausalLM). */
  public static ObjectNode toJson(ModelConfig m) {
    ObjectNode c = JSON.createObjectNode();
    c.putArray("architectures").add("LlamaForCausalLM");
    c.put("model_type", "llama");
    c.put("hidden_size", m.hiddenSize());
    c.put("intermediate_size", m.intermediateSize());
    c.put("num_hidden_layers", m.numLayers());
    c.put("num_attention_heads", m.numHeads());
    c.put("num_key_value_heads", m.numKvHeads());
    c.put("head_dim", m.headDim());
    c.put("hidden_act", "silu");
    c.put("rms_norm_eps", m.rmsNormEps());
    c.put("rope_theta", m.ropeTheta());
    RopeScaling s = m.ropeScaling();
    if (s.type().equals("none")) {
      c.putNull("rope_scaling");
    } else {
      ObjectNode r = c.putObject("rope_scaling");
      r.put("rope_type", s.type());
      r.put("factor", s.factor());
      if (s.type().equals("llama3")) {
        r.put("low_freq_factor", s.lowFreqFactor());
        r.put("high_freq_factor", s.highFreqFactor());
        r.put("original_max_position_embeddings", s.originalMaxPositions());
      }
    }
    c.put("vocab_size", m.vocabSize());
    c.put("max_position_embeddings", m.maxPositions());
    c.put("tie_word_embeddings", m.tiedEmbeddings());
    c.put("bos_token_id", m.bosTokenId());
    c.put("eos_token_id", m.eosTokenId());
    return c;
  }

  public static void write(ModelConfig m, Path dir) throws IOException {
    Files.createDirectories(dir);
    JSON.writerWithDefaultPrettyPrinter()
        .writeValue(dir.resolve("config.json").toFile(), toJson(m));
  }
}
