package io.splitinfer.model.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Resident memory of this process from {@code /proc/self/status} (Linux; -1 elsewhere). */
final class ProcMemory {
  private ProcMemory() {}

  /** A field of /proc/self/status in kB (VmRSS, VmHWM, ...), or -1 when unavailable. */
  static long kb(String field) {
    Path status = Path.of("/proc/self/status");
    if (!Files.isReadable(status)) {
      return -1;
    }
    try {
      for (String line : Files.readAllLines(status)) {
        if (line.startsWith(field + ":")) {
          return Long.parseLong(line.substring(field.length() + 1).replace("kB", "").strip());
        }
      }
    } catch (IOException | NumberFormatException e) {
      return -1;
    }
    return -1;
  }

  static double mb(String field) {
    long k = kb(field);
    return k < 0 ? Double.NaN : k / 1024.0;
  }
}
