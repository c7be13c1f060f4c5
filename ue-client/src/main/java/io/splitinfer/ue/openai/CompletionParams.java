package io.splitinfer.ue.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.List;

/**
 * A validated {@code /v1/completions} or {@code /v1/chat/completions} request. Every bad value is
 * an {@link ApiError} 400 naming the parameter; parameters this server does not implement but that
 * do not change the answer's meaning are ignored.
 *
 * @param promptIds prompt token ids (BOS first when the model has one)
 * @param maxTokens tokens to generate at most (clamped to the context left after the prompt)
 * @param temperature 0..2, 0 = greedy
 * @param topP (0, 1], 1 = off
 * @param seed sampler seed, null when the request gave none
 * @param stop up to 4 non-empty stop strings
 * @param stream answer with server-sent events
 * @param includeUsage streaming: send a usage chunk before {@code [DONE]}
 */
public record CompletionParams(
    int[] promptIds,
    int maxTokens,
    float temperature,
    float topP,
    Long seed,
    List<String> stop,
    boolean stream,
    boolean includeUsage) {
  /** Default max_tokens of /v1/completions (OpenAI's). Chat defaults to the context left. */
  public static final int COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

  private static final ObjectMapper JSON = new ObjectMapper();

  /** Parses and validates {@code body}; {@code chat} selects messages vs prompt. */
  public static CompletionParams parse(byte[] body, boolean chat, CompletionBackend backend) {
    JsonNode root;
    try {
      root = JSON.readTree(body);
    } catch (JsonProcessingException e) {
      throw ApiError.badRequest(
          "invalid_json", "request body is not valid JSON: " + e.getOriginalMessage());
    } catch (java.io.IOException e) {
      throw ApiError.badRequest("invalid_json", "request body could not be read");
    }
    if (root == null || !root.isObject()) {
      throw ApiError.badRequest("invalid_json", "request body must be a JSON object");
    }
    int[] ids = chat ? chatPrompt(root, backend) : textPrompt(root, backend);
    int context = backend.contextLength();
    if (ids.length >= context) {
      throw new ApiError(
          400,
          "invalid_request_error",
          "context_length_exceeded",
          chat ? "messages" : "prompt",
          "the prompt has " + ids.length + " tokens; this model's context is " + context);
    }
    int n = intParam(root, "n", 1);
    if (n != 1) {
      throw ApiError.badParam("n", "only n = 1 is supported, got " + n);
    }
    String maxName =
        chat && root.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
    int left = context - ids.length;
    int maxTokens = intParam(root, maxName, chat ? left : COMPLETIONS_DEFAULT_MAX_TOKENS);
    if (maxTokens < 1) {
      throw ApiError.badParam(maxName, maxName + " must be >= 1, got " + maxTokens);
    }
    float temperature = floatParam(root, "temperature", 1f);
    if (!(temperature >= 0 && temperature <= 2)) {
      throw ApiError.badParam("temperature", "temperature must be in [0, 2], got " + temperature);
    }
    float topP = floatParam(root, "top_p", 1f);
    if (!(topP > 0 && topP <= 1)) {
      throw ApiError.badParam("top_p", "top_p must be in (0, 1], got " + topP);
    }
    Long seed = null;
    JsonNode s = root.get("seed");
    if (s != null && !s.isNull()) {
      if (!s.isIntegralNumber() || !s.canConvertToLong()) {
        throw ApiError.badParam("seed", "seed must be an integer");
      }
      seed = s.asLong();
    }
    boolean stream = boolParam(root, "stream", false);
    JsonNode opts = root.path("stream_options");
    boolean includeUsage = stream && opts.path("include_usage").asBoolean(false);
    return new CompletionParams(
        ids, Math.min(maxTokens, left), temperature, topP, seed, stops(root), stream, includeUsage);
  }

  private static int[] textPrompt(JsonNode root, CompletionBackend backend) {
    JsonNode p = root.get("prompt");
    if (p != null && p.isArray() && p.size() == 1 && p.get(0).isTextual()) {
      p = p.get(0);
    }
    if (p != null && p.isTextual()) {
      if (p.asText().isEmpty()) {
        throw ApiError.badParam("prompt", "prompt must not be empty");
      }
      return backend.encode(p.asText());
    }
    if (p != null && p.isArray() && !p.isEmpty() && p.get(0).isIntegralNumber()) {
      int[] ids = new int[p.size()];
      for (int i = 0; i < ids.length; i++) {
        JsonNode t = p.get(i);
        if (!t.isIntegralNumber()
            || !t.canConvertToInt()
            || t.asInt() < 0
            || t.asInt() >= backend.vocabSize()) {
          throw ApiError.badParam(
              "prompt", "prompt token ids must be integers in [0, " + backend.vocabSize() + ")");
        }
        ids[i] = t.asInt();
      }
      return ids;
    }
    if (p == null || p.isNull()) {
      throw ApiError.badParam("prompt", "prompt is required");
    }
    throw ApiError.badParam(
        "prompt", "prompt must be a string, a list of one string, or a list of token ids");
  }

  private static int[] chatPrompt(JsonNode root, CompletionBackend backend) {
    JsonNode ms = root.get("messages");
    if (ms == null || !ms.isArray() || ms.isEmpty()) {
      throw ApiError.badParam("messages", "messages must be a non-empty list");
    }
    List<ChatTemplate.Message> messages = new ArrayList<>();
    for (JsonNode m : ms) {
      String role = m.path("role").asText("");
      if (role.equals("developer")) {
        role = "system";
      }
      if (!role.equals("system") && !role.equals("user") && !role.equals("assistant")) {
        throw ApiError.badParam(
            "messages", "message role must be system, user or assistant, got '" + role + "'");
      }
      messages.add(new ChatTemplate.Message(role, content(m.get("content"))));
    }
    return backend.encode(backend.chatTemplate().render(messages));
  }

  /** A string, or a list of {type: text, text} parts. */
  private static String content(JsonNode c) {
    if (c != null && c.isTextual()) {
      return c.asText();
    }
    if (c != null && c.isArray()) {
      StringBuilder b = new StringBuilder();
      for (JsonNode part : c) {
        if (!"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
          throw ApiError.badParam("messages", "only text content parts are supported");
        }
        b.append(part.get("text").asText());
      }
      return b.toString();
    }
    throw ApiError.badParam("messages", "message content must be a string or text parts");
  }

  private static List<String> stops(JsonNode root) {
    JsonNode s = root.get("stop");
    List<String> out = new ArrayList<>();
    if (s == null || s.isNull()) {
      return out;
    }
    if (s.isTextual()) {
      out.add(s.asText());
    } else if (s.isArray()) {
      for (JsonNode x : s) {
        if (!x.isTextual()) {
          throw ApiError.badParam("stop", "stop must be a string or a list of strings");
        }
        out.add(x.asText());
      }
    } else {
      throw ApiError.badParam("stop", "stop must be a string or a list of strings");
    }
    if (out.size() > 4 || out.stream().anyMatch(String::isEmpty)) {
      throw ApiError.badParam("stop", "stop takes at most 4 non-empty strings");
    }
    return List.copyOf(out);
  }

  private static int intParam(JsonNode root, String name, int dflt) {
    JsonNode v = root.get(name);
    if (v == null || v.isNull()) {
      return dflt;
    }
    if (!v.isIntegralNumber() || !v.canConvertToInt()) {
      throw ApiError.badParam(name, name + " must be an integer");
    }
    return v.asInt();
  }

  private static float floatParam(JsonNode root, String name, float dflt) {
    JsonNode v = root.get(name);
    if (v == null || v.isNull()) {
      return dflt;
    }
    if (!v.isNumber()) {
      throw ApiError.badParam(name, name + " must be a number");
    }
    return (float) v.asDouble();
  }

  private static boolean boolParam(JsonNode root, String name, boolean dflt) {
    JsonNode v = root.get(name);
    if (v == null || v.isNull()) {
      return dflt;
    }
    if (!v.isBoolean()) {
      throw ApiError.badParam(name, name + " must be true or false");
    }
    return v.asBoolean();
  }
}
