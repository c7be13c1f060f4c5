package io.splitinfer.controller.experiments;

import java.io.PrintStream;
import java.util.Locale;

/**
 * One progress bar over the whole run: a total of work units fixed up front (one unit ≈ one PPL
 * measurement or one training run), advanced by each study, printed on one line with the stage, the
 * elapsed time and a linear estimate of the time left.
 */
final class Progress {
  private final PrintStream out;
  private final long t0 = System.nanoTime();
  private long total;
  private long done;

  Progress(PrintStream out) {
    this.out = out;
  }

  void addTotal(long units) {
    total += units;
  }

  void step(String what) {
    advance(1, what);
  }

  synchronized void advance(long units, String what) {
    done = Math.min(total, done + units);
    int width = 30;
    int filled = (int) (width * done / Math.max(1, total));
    double secs = (System.nanoTime() - t0) / 1e9;
    double left = done == 0 ? 0 : secs * (total - done) / done;
    String label = what.length() > 48 ? what.substring(0, 48) : what;
    out.printf(
        Locale.ROOT,
        "\r[%s%s] %3d%% %5.0fs elapsed, ~%4.0fs left  %-48s",
        "#".repeat(filled),
        ".".repeat(width - filled),
        100 * done / Math.max(1, total),
        secs,
        left,
        label);
    out.flush();
  }

  void finish() {
    out.println();
  }
}
