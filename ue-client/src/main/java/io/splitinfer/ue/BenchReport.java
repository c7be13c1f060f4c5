package io.splitinfer.ue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** The rows of {@code bench} as a markdown table (stdout, bench.md), bench.csv and bench.json. */
final class BenchReport {
  /**
   * One mode at one split.
   *
   * @param ratio median over rounds of the round's decode time / the monolithic one's
   * @param bytesPerToken uplink bytes of the decode steps per token they brought (rows sent ahead
   *     in vain included; a speculative round's rows shared by the tokens it brought)
   * @param overheadPercent bytesPerToken over the floor (one row: hidden x dtype bytes), in percent
   * @param guessHitRate lookahead's right guesses, or speculation's drafts accepted; NaN: neither
   */
  record Row(
      String mode,
      int split,
      double decodeMsPerToken,
      double decodeMinMs,
      double decodeMaxMs,
      double prefillTokensPerS,
      double ratio,
      double bytesPerToken,
      long floorBytes,
      double overheadPercent,
      double guessHitRate,
      boolean tokensMatch) {}

  private final String header;
  private final List<Row> rows;

  BenchReport(String header, List<Row> rows) {
    this.header = header;
    this.rows = rows;
  }

  String markdown() {
    StringBuilder table = new StringBuilder(header).append('\n');
    table.append(
        "| mode | p | decode ms/token, median [min, max] of rounds | ratio vs mono (median of"
            + " rounds) | prefill tok/s | uplink bytes/token | floor | over the floor | guesses right /"
            + " drafts accepted | tokens == mono |\n");
    table.append("|---|---|---|---|---|---|---|---|---|---|\n");
    for (Row r : rows) {
      table.append(
          String.format(
              Locale.ROOT,
              "| %s | %d | %.3f [%.3f, %.3f] | %.3f | %.1f | %.1f | %d | %.2f%% | %s | %s |%n",
              r.mode(),
              r.split(),
              r.decodeMsPerToken(),
              r.decodeMinMs(),
              r.decodeMaxMs(),
              r.ratio(),
              r.prefillTokensPerS(),
              r.bytesPerToken(),
              r.floorBytes(),
              r.overheadPercent(),
              Double.isNaN(r.guessHitRate())
                  ? "-"
                  : String.format(Locale.ROOT, "%.1f%%", 100 * r.guessHitRate()),
              r.tokensMatch()));
    }
    return table.toString();
  }

  String csv() {
    StringBuilder csv =
        new StringBuilder(
            "mode,split,decode_ms_per_token,decode_min_ms,decode_max_ms,ratio,prefill_tokens_per_s,"
                + "bytes_per_token,floor_bytes,overhead_percent,guess_hit_rate,tokens_match\n");
    for (Row r : rows) {
      csv.append(
          String.format(
              Locale.ROOT,
              "%s,%d,%.4f,%.4f,%.4f,%.4f,%.2f,%.1f,%d,%.3f,%.4f,%s%n",
              r.mode(),
              r.split(),
              r.decodeMsPerToken(),
              r.decodeMinMs(),
              r.decodeMaxMs(),
              r.ratio(),
              r.prefillTokensPerS(),
              r.bytesPerToken(),
              r.floorBytes(),
              r.overheadPercent(),
              r.guessHitRate(),
              r.tokensMatch()));
    }
    return csv.toString();
  }

  String json() {
    StringBuilder json = new StringBuilder("[\n");
    for (int i = 0; i < rows.size(); i++) {
      Row r = rows.get(i);
      json.append(
          String.format(
              Locale.ROOT,
              "  {\"mode\":\"%s\",\"split\":%d,\"decode_ms_per_token\":%.4f,"
                  + "\"decode_min_ms\":%.4f,\"decode_max_ms\":%.4f,\"ratio\":%.4f,"
                  + "\"prefill_tokens_per_s\":%.2f,\"bytes_per_token\":%.1f,\"floor_bytes\":%d,"
                  + "\"overhead_percent\":%.3f,\"guess_hit_rate\":%s,\"tokens_match\":%s}%s%n",
              r.mode(),
              r.split(),
              r.decodeMsPerToken(),
              r.decodeMinMs(),
              r.decodeMaxMs(),
              r.ratio(),
              r.prefillTokensPerS(),
              r.bytesPerToken(),
              r.floorBytes(),
              r.overheadPercent(),
              Double.isNaN(r.guessHitRate())
                  ? "null"
                  : String.format(Locale.ROOT, "%.4f", r.guessHitRate()),
              r.tokensMatch(),
              i + 1 < rows.size() ? "," : ""));
    }
    return json.append("]\n").toString();
  }

  /** Writes bench.csv, bench.json and bench.md into {@code dir}. */
  void write(Path dir) throws IOException {
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("bench.csv"), csv(), StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("bench.json"), json(), StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("bench.md"), markdown(), StandardCharsets.UTF_8);
  }
}
