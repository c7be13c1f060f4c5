package io.splitinfer.ue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a prompt comes from: the {@code --prompt} text, standard input ({@code --prompt -}) or a
 * file ({@code --prompt-file F}, UTF-8). Exactly one. Either form may be token ids ({@code
 * ids:1,2,3}); long prompts belong in a file or on stdin, not on the command line.
 */
final class PromptInput {
  private PromptInput() {}

  static String read(String prompt, Path file, InputStream stdin) throws IOException {
    if ((prompt == null) == (file == null)) {
      throw new CliErrors.Refused(
          "give exactly one of --prompt TEXT, --prompt - or --prompt-file F");
    }
    String text;
    if (file != null) {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } else if (prompt.equals("-")) {
      text = new String(stdin.readAllBytes(), StandardCharsets.UTF_8);
    } else {
      return prompt;
    }
    // A trailing newline from a file or a pipe is not part of the prompt.
    text = text.endsWith("\r\n") ? text.substring(0, text.length() - 2) : text;
    text = text.endsWith("\n") ? text.substring(0, text.length() - 1) : text;
    if (text.isEmpty()) {
      throw new CliErrors.Refused("the prompt is empty");
    }
    return text;
  }

  /** Token ids when {@code prompt} is "ids:1,2,3", else null (text for the tokenizer). */
  static int[] ids(String prompt) {
    if (!prompt.startsWith("ids:")) {
      return null;
    }
    String[] parts = prompt.substring(4).split(",");
    int[] ids = new int[parts.length];
    for (int i = 0; i < parts.length; i++) {
      try {
        ids[i] = Integer.parseInt(parts[i].trim());
      } catch (NumberFormatException e) {
        throw new CliErrors.Refused("prompt ids: '" + parts[i].trim() + "' is not a token id");
      }
    }
    return ids;
  }
}
