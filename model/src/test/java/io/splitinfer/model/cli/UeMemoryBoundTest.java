package io.splitinfer.model.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.checkpoint.RandomCheckpoint;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.engine.RopeScaling;
import io.splitinfer.model.onnx.OnnxConverter;
import io.splitinfer.model.onnx.WeightFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A UE-only process ({@code model memory}: embedding + layers 1..p, prefill then decode) in its own
 * JVM, started with the UE launcher's memory settings ({@link #UE_JVM}, {@link #UE_ENV}; the
 * ue-client image uses the same): the median of three runs' peak resident memory ({@code VmHWM})
 * grows by less than 10 % from a 64-token prompt to a 1,024-token one (prefill in chunks of 64, no
 * ORT arena, KV held once in direct buffers, hidden-state inputs in reused direct buffers). With
 * this tiny model the fixed part (JVM + ONNX Runtime, ~150 MB) is small, so the chunk's attention
 * intermediates (heads x chunk x context floats) and the KV are what grows. Skipped where {@code
 * /proc} is missing.
 *
 * <p>Measured growth of the medians in four runs of this test on the shared 2-core machine (load
 * 13-14): +4.7 %, -0.1 %, +2.5 %, +2.5 % (157-162 MB at 64 tokens); before the direct input buffers
 * and these settings single runs grew 6.6-11.2 % and the test guarded 25 %. The bound is the
 * issue's 10 %, twice the largest growth measured.
 */
class UeMemoryBoundTest {
  /** The UE launcher's JVM memory flags (ue-client/Dockerfile's JAVA_TOOL_OPTIONS). */
  static final List<String> UE_JVM =
      List.of(
          "-Xms64m",
          "-Xmx64m",
          "-XX:+AlwaysPreTouch",
          "-XX:+UseSerialGC",
          "-XX:MaxDirectMemorySize=1g");

  /**
   * The UE launcher's glibc settings: two malloc arenas, and a fixed mmap threshold so that ONNX
   * Runtime's large per-run buffers are mapped and returned at free (glibc's dynamic threshold
   * otherwise rises to their size and keeps them in the heap).
   */
  static final Map<String, String> UE_ENV =
      Map.of("MALLOC_ARENA_MAX", "2", "MALLOC_MMAP_THRESHOLD_", "131072");

  /** Growth bound of the median peak RSS from 64 to 1,024 prompt tokens. */
  static final double BOUND = 0.10;

  @TempDir Path dir;

  private JsonNode run(Path pkg, int promptTokens) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    // a fixed, pre-touched Java heap (as a phone app gets): what grows is native memory
    cmd.addAll(UE_JVM);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(ModelCli.class.getName());
    cmd.addAll(
        List.of(
            "memory",
            pkg.toString(),
            "--split",
            "3",
            "--prompt-tokens",
            Integer.toString(promptTokens),
            "--threads",
            "1",
            "--prefill-chunk",
            "64"));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().putAll(UE_ENV);
    Process p = pb.start();
    String out;
    try (var in = p.getInputStream()) {
      out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "memory run timed out");
    assertEquals(0, p.exitValue(), out);
    String json =
        out.lines()
            .filter(l -> l.startsWith("{"))
            .reduce((a, b) -> b)
            .orElseThrow(() -> new AssertionError(out));
    return new ObjectMapper().readTree(json);
  }

  private static JsonNode median(List<JsonNode> runs) {
    List<JsonNode> sorted = new ArrayList<>(runs);
    sorted.sort(java.util.Comparator.comparingDouble(n -> n.get("peak_rss_mb").asDouble()));
    return sorted.get(sorted.size() / 2);
  }

  @Test
  void uePeakRssGrowsLessThanTenPercentFrom64To1024PromptTokens() throws Exception {
    Assumptions.assumeTrue(Files.isReadable(Path.of("/proc/self/status")), "no /proc");
    // 4 layers, d 128, 4 heads / 2 KV heads: KV for 1,024 tokens at p = 3 is 1.5 MB
    ModelConfig c =
        new ModelConfig(
            4, 128, 256, 4, 2, 32, 97, 2048, 1e-5, 10000.0, true, 1, 2, RopeScaling.NONE);
    Path ck = dir.resolve("ck");
    new RandomCheckpoint(c, DType.F32, 3, 1).write(ck);
    Path pkg = dir.resolve("pkg");
    new OnnxConverter(OnnxConverter.Options.of(WeightFormat.parse("int4"))).convert(ck, pkg);
    // alternate the lengths, three runs each; compare medians
    List<JsonNode> smalls = new ArrayList<>();
    List<JsonNode> larges = new ArrayList<>();
    for (int r = 0; r < 3; r++) {
      smalls.add(run(pkg, 64));
      larges.add(run(pkg, 1024));
    }
    JsonNode small = median(smalls);
    JsonNode large = median(larges);
    double a = small.get("peak_rss_mb").asDouble();
    double b = large.get("peak_rss_mb").asDouble();
    assertTrue(a > 0 && b > 0, small + " / " + large);
    assertTrue(
        large.get("kv_bytes").asLong() >= 4 * small.get("kv_bytes").asLong(), "the KV did grow");
    System.out.printf(
        java.util.Locale.ROOT,
        "UE-only peak RSS, medians of 3: %.1f MB (64 tokens) -> %.1f MB (1,024): %+.1f %%%n",
        a,
        b,
        100 * (b / a - 1));
    assertTrue(
        b < (1 + BOUND) * a,
        "peak RSS "
            + a
            + " MB at 64 tokens, "
            + b
            + " MB at 1024 tokens: "
            + small
            + " / "
            + large);
  }
}
