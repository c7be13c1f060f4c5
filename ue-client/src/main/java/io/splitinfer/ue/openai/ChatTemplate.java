package io.splitinfer.ue.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Chat messages to prompt text. A model package's {@code tokenizer_config.json} may carry a Jinja
 * {@code chat_template}; this class does not run Jinja but recognises the template families that
 * Llama-family checkpoints ship (ChatML, Zephyr/TinyLlama, Llama-2 {@code [INST]}, Llama-3 header
 * ids) by their marker tokens and renders them with a generation prompt. A package with no template
 * (the embedded default model) or an unrecognised one gets the plain format:
 *
 * <pre>
 * System: {content}
 *
 * User: {content}
 *
 * Assistant: {content}
 *
 * Assistant:
 * </pre>
 *
 * (one block per message, blank line between, ending with {@code "Assistant:"}). BOS is not part of
 * the text: the backend adds it as an id like {@code generate} does.
 */
public enum ChatTemplate {
  PLAIN,
  CHATML,
  ZEPHYR,
  LLAMA2,
  LLAMA3;

  /** One chat message; role is system, user or assistant. */
  public record Message(String role, String content) {}

  /** The family of {@code template} (a Jinja source), PLAIN when null or unrecognised. */
  public static ChatTemplate recognise(String template) {
    if (template == null || template.isBlank()) {
      return PLAIN;
    }
    if (template.contains("<|im_start|>")) {
      return CHATML;
    }
    if (template.contains("<|start_header_id|>")) {
      return LLAMA3;
    }
    if (template.contains("<|user|>") && template.contains("<|assistant|>")) {
      return ZEPHYR;
    }
    if (template.contains("[INST]")) {
      return LLAMA2;
    }
    return PLAIN;
  }

  /** The family named by {@code tokenizer_config.json}'s chat_template (string or named list). */
  public static ChatTemplate fromTokenizerConfig(Path tokenizerConfig) throws IOException {
    if (tokenizerConfig == null || !Files.isRegularFile(tokenizerConfig)) {
      return PLAIN;
    }
    JsonNode t = new ObjectMapper().readTree(tokenizerConfig.toFile()).path("chat_template");
    if (t.isArray()) {
      for (JsonNode named : t) {
        if ("default".equals(named.path("name").asText())) {
          return recognise(named.path("template").asText(null));
        }
      }
      return t.isEmpty() ? PLAIN : recognise(t.get(0).path("template").asText(null));
    }
    return recognise(t.isTextual() ? t.asText() : null);
  }

  /** Prompt text for {@code messages}, ending where the assistant's reply starts. */
  public String render(List<Message> messages) {
    StringBuilder b = new StringBuilder();
    switch (this) {
      case CHATML -> {
        for (Message m : messages) {
          b.append("<|im_start|>").append(m.role()).append('\n').append(m.content());
          b.append("<|im_end|>\n");
        }
        b.append("<|im_start|>assistant\n");
      }
      case ZEPHYR -> {
        for (Message m : messages) {
          b.append("<|").append(m.role()).append("|>\n").append(m.content()).append("</s>\n");
        }
        b.append("<|assistant|>\n");
      }
      case LLAMA3 -> {
        for (Message m : messages) {
          b.append("<|start_header_id|>").append(m.role()).append("<|end_header_id|>\n\n");
          b.append(m.content().strip()).append("<|eot_id|>");
        }
        b.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
      }
      case LLAMA2 -> llama2(messages, b);
      case PLAIN -> {
        for (Message m : messages) {
          b.append(capitalised(m.role())).append(": ").append(m.content()).append("\n\n");
        }
        b.append("Assistant:");
      }
    }
    return b.toString();
  }

  /** [INST] blocks; a system message is folded into the first user turn. */
  private static void llama2(List<Message> messages, StringBuilder b) {
    String system = null;
    boolean first = true;
    for (Message m : messages) {
      switch (m.role()) {
        case "system" -> system = m.content();
        case "user" -> {
          if (!first) {
            b.append("<s>");
          }
          b.append("[INST] ");
          if (system != null) {
            b.append("<<SYS>>\n").append(system).append("\n<</SYS>>\n\n");
            system = null;
          }
          b.append(m.content().strip()).append(" [/INST]");
          first = false;
        }
        default -> b.append(' ').append(m.content().strip()).append(" </s>");
      }
    }
  }

  private static String capitalised(String role) {
    return role.isEmpty()
        ? role
        : role.substring(0, 1).toUpperCase(Locale.ROOT) + role.substring(1);
  }
}
