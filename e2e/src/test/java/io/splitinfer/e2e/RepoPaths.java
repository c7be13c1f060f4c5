package io.splitinfer.e2e;

import java.nio.file.Files;
import java.nio.file.Path;

/** Locates the repository root (the e2e module runs from e2e/). */
final class RepoPaths {
  private RepoPaths() {}

  static Path root() {
    Path p = Path.of("").toAbsolutePath();
    while (p != null && !Files.exists(p.resolve("scripts/netns-e2e.sh"))) {
      p = p.getParent();
    }
    if (p == null) {
      throw new IllegalStateException(
          "repository root not found from " + Path.of("").toAbsolutePath());
    }
    return p;
  }
}
