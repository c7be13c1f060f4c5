package io.splitinfer.ue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.checkpoint.RandomCheckpoint;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.reference.ReferenceEngine;
import java.io.ByteArrayInputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.StringJoiner;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * ue-client generate's failures are one line on stderr (status + description, no stack trace) with
 * a non-zero exit code, and what the UE can refuse before it computes anything it refuses: a
 * negative or out-of-range split, a prompt longer than the edge's max_positions (from --prompt,
 * --prompt-file or stdin), no prompt at all. The edge is a {@link FakeEdge} on loopback TCP that
 * answers GetModelInfo (5 layers, max_positions 256); none of these cases loads the ONNX model.
 */
class UeCliErrorsTest {
  @TempDir static Path dir;
  static InferenceEngine engine;
  static Server server;
  static String edge;

  @BeforeAll
  static void start() throws Exception {
    new RandomCheckpoint(RandomCheckpoint.tiny(5, false), DType.F32, 5, 1).write(dir);
    engine = ReferenceEngine.load(dir);
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .addService(new FakeEdge(engine, "tiny", "abc", 4))
            .build()
            .start();
    edge = "127.0.0.1:" + server.getPort();
  }

  @AfterAll
  static void stop() throws Exception {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    engine.close();
  }

  record Run(int rc, String err) {}

  static Run run(String stdin, String... given) {
    // every edge of these tests is on loopback without TLS
    String[] args = new String[given.length + 1];
    args[0] = given[0];
    args[1] = "--plaintext";
    System.arraycopy(given, 1, args, 2, given.length - 1);
    StringWriter err = new StringWriter();
    CommandLine cli = UeClientMain.commandLine(args);
    cli.setErr(new PrintWriter(err, true));
    CommandLine gen = cli.getSubcommands().get("generate");
    ((GenerateCommand) gen.getCommand()).stdin =
        new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
    int rc = cli.execute(args);
    return new Run(rc, err.toString());
  }

  static void oneLine(Run r, int rc, String contains) {
    oneLine("generate", r, rc, contains);
  }

  static void oneLine(String command, Run r, int rc, String contains) {
    assertEquals(rc, r.rc(), r.err());
    String[] lines = r.err().strip().split("\\R");
    assertEquals(1, lines.length, "one line: " + r.err());
    assertTrue(lines[0].startsWith(command + ": "), lines[0]);
    assertTrue(lines[0].contains(contains), lines[0]);
    assertFalse(r.err().contains("\tat "), "no stack trace");
  }

  static String ids(int n) {
    StringJoiner j = new StringJoiner(",", "ids:", "");
    for (int i = 0; i < n; i++) {
      j.add(Integer.toString(3 + i % 90));
    }
    return j.toString();
  }

  @Test
  void unreachableEdgeIsOneStatusLine() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    oneLine(
        run("", "generate", "--edge", "127.0.0.1:" + port, "--prompt", "ids:5,6"),
        CliErrors.FAILED,
        "UNAVAILABLE: ");
  }

  @Test
  void negativeSplitIsRefusedNotTurnedIntoHalf() {
    oneLine(
        run("", "generate", "--edge", edge, "--prompt", "ids:5,6", "--split", "-5"),
        CliErrors.USAGE,
        "--split must be >= 0, got -5");
  }

  @Test
  void splitBeyondTheEdgesRangeIsRefused() {
    oneLine(
        run("", "generate", "--edge", edge, "--prompt", "ids:5,6", "--split", "9"),
        CliErrors.USAGE,
        "--split 9 is outside the edge's range [0, 5]");
  }

  @Test
  void promptLongerThanTheEdgesLimitIsRefusedBeforeAnyCompute() throws Exception {
    oneLine(
        run("", "generate", "--edge", edge, "--prompt", ids(300)),
        CliErrors.USAGE,
        "prompt of 300 tokens exceeds the edge's max_positions 256");
  }

  @Test
  void promptFromAFile() throws Exception {
    Path f = Files.writeString(dir.resolve("prompt.txt"), ids(257) + "\n");
    oneLine(
        run("", "generate", "--edge", edge, "--prompt-file", f.toString()),
        CliErrors.USAGE,
        "prompt of 257 tokens exceeds the edge's max_positions 256");
  }

  @Test
  void promptFromStdin() {
    oneLine(
        run(ids(400) + "\n", "generate", "--edge", edge, "--prompt", "-"),
        CliErrors.USAGE,
        "prompt of 400 tokens exceeds the edge's max_positions 256");
  }

  @Test
  void noPromptOrTwoPromptsIsOneLine() throws Exception {
    oneLine(run("", "generate", "--edge", edge), CliErrors.USAGE, "give exactly one of");
    Path f = Files.writeString(dir.resolve("p2.txt"), "ids:5");
    oneLine(
        run("", "generate", "--edge", edge, "--prompt", "x", "--prompt-file", f.toString()),
        CliErrors.USAGE,
        "give exactly one of");
  }

  @Test
  void aBadFlagValueIsOneLine() {
    oneLine(
        run("", "generate", "--edge", edge, "--prompt", "x", "--split", "many"),
        CliErrors.USAGE,
        "'many'");
  }

  @Test
  void badSpeculationFlagsAreRefusedUpFront() throws Exception {
    oneLine(
        run("", "generate", "--edge", edge, "--prompt", "ids:5,6", "--spec-k", "-1"),
        CliErrors.USAGE,
        "--spec-k must be >= 0, got -1");
    oneLine(
        run("", "generate", "--edge", edge, "--prompt", "ids:5,6", "--spec-min-chance", "1"),
        CliErrors.USAGE,
        "--spec-min-chance must be in [0, 1), got 1.0");
    oneLine(
        run("", "generate", "--edge", edge, "--prompt", "ids:5,6", "--drafter", "oracle"),
        CliErrors.USAGE,
        "--drafter must be auto, early-exit, lookup, ngram or ngram:FILE, got oracle");
    String missing = dir.resolve("no-table.bin").toString();
    oneLine(
        run("", "generate", "--edge", edge, "--prompt", "ids:5,6", "--drafter", "ngram:" + missing),
        CliErrors.USAGE,
        "no such n-gram draft table file " + missing);
  }

  /** bench refuses a bad --lookahead drafter or --held-out count before it measures anything. */
  @Test
  void benchRefusesBadLookaheadAndHeldOutUpFront() {
    oneLine(
        "bench",
        run("", "bench", "--edge", edge, "--lookahead", "oracle"),
        CliErrors.USAGE,
        "--lookahead must be auto, early-exit, lookup, ngram or ngram:FILE, got oracle");
    oneLine(
        "bench",
        run("", "bench", "--edge", edge, "--held-out", "-1"),
        CliErrors.USAGE,
        "--held-out must be >= 0, got -1");
    oneLine(
        "bench",
        run("", "bench", "--edge", edge, "--spec", "2,2-later"),
        CliErrors.USAGE,
        "--spec: '2-later' is not K[a][cP][-ahead] (e.g. 4, 6a, 2-ahead, 8c0.3, 4a-ahead)");
    oneLine(
        "bench",
        run("", "bench", "--edge", edge, "--spec", "0-ahead"),
        CliErrors.USAGE,
        "--spec: '0-ahead': k must be >= 1 (0 alone = off)");
    oneLine(
        "bench",
        run("", "bench", "--edge", edge, "--spec", "2", "--spec-drafter", "oracle"),
        CliErrors.USAGE,
        "--spec-drafter must be auto, early-exit, lookup, ngram or ngram:FILE, got oracle");
    oneLine(
        "bench",
        run("", "bench", "--edge", edge, "--spec", "8c1.5"),
        CliErrors.USAGE,
        "--spec: '8c1.5': P must be in [0, 1)");
    oneLine(
        "bench",
        run("", "bench", "--edge", edge, "--spec", "0c0.3"),
        CliErrors.USAGE,
        "--spec: '0c0.3': k must be >= 1 (0 alone = off)");
    oneLine(
        "spec-bench",
        run("", "spec-bench", "--edge", edge, "--ks", "4,x"),
        CliErrors.USAGE,
        "--ks: 'x' is not K[a][cP][-ahead] (e.g. 4, 6a, 2-ahead, 8c0.3, 4a-ahead)");
  }

  /** spec-bench builds its drafters as generate does: refused before anything is measured. */
  @Test
  void specBenchRefusesBadDraftersUpFront() {
    String missing = dir.resolve("no-table.bin").toString();
    for (String[] c :
        new String[][] {
          {"oracle", "oracle is not auto, early-exit, lookup, ngram or ngram:FILE"},
          {"lookup,ngram:" + missing, "ngram:" + missing}
        }) {
      Run r = run("", "spec-bench", "--edge", edge, "--drafters", c[0]);
      assertEquals(CliErrors.USAGE, r.rc(), r.err());
      String[] lines = r.err().strip().split("\\R");
      assertEquals(1, lines.length, "one line: " + r.err());
      assertTrue(lines[0].startsWith("spec-bench: --drafters: "), lines[0]);
      assertTrue(lines[0].contains(c[1]), lines[0]);
    }
  }

  @Test
  void aMissingPromptFileIsOneLine() {
    oneLine(
        run("", "generate", "--edge", edge, "--prompt-file", dir.resolve("nope").toString()),
        CliErrors.FAILED,
        "nope");
  }
}
