package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.model.cli.ModelCli;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.pkg.DefaultModel;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.ue.UeClientMain;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * One token stream everywhere (issue 18): {@code ue-client eval-ppl} through a clean loopback link
 * to a real edge-server scores exactly what {@code model ppl} scores on the same text — the same
 * mean NLL to the printed six decimals, the embedded default model, split 6, the first 512 held-out
 * tokens. With a BOS in front of the link's stream (the old eval-ppl) the two differ in the third
 * decimal (first 2,048 tokens: PPL 54.84 vs 54.64).
 */
class TokenStreamConventionTest {
  private static final Pattern EVAL_NLL = Pattern.compile("mean nll ([0-9.]+)");
  private static final Pattern MODEL_NLL = Pattern.compile("mean NLL ([0-9.]+) nats");

  @Test
  void cleanLinkPplEqualsModelPplOnTheSameTokens() throws Exception {
    ModelPackage pkg = DefaultModel.forProcess().locate();
    Path heldout = pkg.file("heldout.txt").orElseThrow();
    EdgeMetrics metrics = new EdgeMetrics(new SimpleMeterRegistry());
    String link;
    try (InferenceEngine engine = pkg.openEngine(OnnxOptions.defaults().withThreads(1, 1))) {
      SplitInferenceService service =
          new SplitInferenceService(
              new EdgeModel(pkg.id(), pkg.sha256(), engine, id -> "<" + id + ">"),
              EdgeConfig.defaults(),
              metrics);
      EdgeServer server =
          new EdgeServer(service, metrics).start(new InetSocketAddress("127.0.0.1", 0));
      try {
        link =
            run(
                new CommandLine(new UeClientMain()),
                "eval-ppl",
                "--corpus",
                heldout.toString(),
                "--max-tokens",
                "512",
                "--split",
                "6",
                "--threads",
                "1",
                "--edge",
                "127.0.0.1:" + server.port(),
                "--plaintext");
      } finally {
        server.stop();
      }
    }
    String local =
        run(
            new CommandLine(new ModelCli()),
            "ppl",
            "--max-tokens",
            "512",
            "--split",
            "6",
            "--threads",
            "1");
    String linkNll = group(EVAL_NLL, link);
    String localNll = group(MODEL_NLL, local);
    assertEquals(localNll, linkNll, "eval-ppl:\n" + link + "\nmodel ppl:\n" + local);
  }

  private static String group(Pattern p, String text) {
    Matcher m = p.matcher(text);
    assertNotNull(m.find() ? m.group(1) : null, "no match of " + p + " in:\n" + text);
    return m.group(1);
  }

  /** Runs a CLI and returns what it printed on System.out (the commands print with printf). */
  private static String run(CommandLine cli, String... args) {
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    int rc;
    try {
      rc = cli.execute(args);
    } finally {
      System.setOut(old);
    }
    String out = buf.toString(StandardCharsets.UTF_8);
    assertEquals(0, rc, out);
    return out;
  }
}
