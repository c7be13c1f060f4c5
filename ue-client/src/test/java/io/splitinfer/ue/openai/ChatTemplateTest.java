package io.splitinfer.ue.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplateTest {
  @TempDir Path dir;

  private static final List<ChatTemplate.Message> CHAT =
      List.of(new ChatTemplate.Message("system", "S"), new ChatTemplate.Message("user", "U"));

  @Test
  void recognisesFamiliesByTheirMarkers() {
    assertEquals(ChatTemplate.CHATML, ChatTemplate.recognise("{{'<|im_start|>' + m.role}}"));
    assertEquals(ChatTemplate.ZEPHYR, ChatTemplate.recognise("<|user|>\n ... <|assistant|>"));
    assertEquals(ChatTemplate.LLAMA2, ChatTemplate.recognise("{{ '[INST] ' + content }}"));
    assertEquals(ChatTemplate.LLAMA3, ChatTemplate.recognise("<|start_header_id|>"));
    assertEquals(ChatTemplate.PLAIN, ChatTemplate.recognise("{{ something else }}"));
    assertEquals(ChatTemplate.PLAIN, ChatTemplate.recognise(null));
  }

  @Test
  void rendersWithAGenerationPrompt() {
    assertEquals("System: S\n\nUser: U\n\nAssistant:", ChatTemplate.PLAIN.render(CHAT));
    assertEquals(
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n",
        ChatTemplate.CHATML.render(CHAT));
    assertEquals(
        "<|system|>\nS</s>\n<|user|>\nU</s>\n<|assistant|>\n", ChatTemplate.ZEPHYR.render(CHAT));
    assertEquals("[INST] <<SYS>>\nS\n<</SYS>>\n\nU [/INST]", ChatTemplate.LLAMA2.render(CHAT));
  }

  @Test
  void readsTheTokenizerConfig() throws Exception {
    Path none = dir.resolve("none.json");
    Files.writeString(none, "{\"bos_token\":\"<s>\"}");
    assertEquals(ChatTemplate.PLAIN, ChatTemplate.fromTokenizerConfig(none));
    Path zephyr = dir.resolve("z.json");
    Files.writeString(zephyr, "{\"chat_template\":\"<|user|>\\n{{x}}<|assistant|>\"}");
    assertEquals(ChatTemplate.ZEPHYR, ChatTemplate.fromTokenizerConfig(zephyr));
    Path named = dir.resolve("n.json");
    Files.writeString(
        named, "{\"chat_template\":[{\"name\":\"default\",\"template\":\"<|im_start|>\"}]}");
    assertEquals(ChatTemplate.CHATML, ChatTemplate.fromTokenizerConfig(named));
    assertEquals(ChatTemplate.PLAIN, ChatTemplate.fromTokenizerConfig(dir.resolve("missing")));
  }
}
