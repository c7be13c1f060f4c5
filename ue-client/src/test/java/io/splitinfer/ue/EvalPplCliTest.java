package io.splitinfer.ue;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** eval-ppl's flags: --follow-controller needs --controller; the new flags are parsed. */
class EvalPplCliTest {
  @TempDir Path dir;

  @Test
  void followControllerWithoutControllerIsAUsageError() throws Exception {
    Path corpus = Files.writeString(dir.resolve("c.txt"), "some text");
    StringWriter err = new StringWriter();
    CommandLine cli = new CommandLine(new UeClientMain());
    cli.setErr(new PrintWriter(err));
    int rc = cli.execute("eval-ppl", "--corpus", corpus.toString(), "--follow-controller");
    assertEquals(2, rc);
    assertTrue(
        err.toString().contains("--follow-controller requires --controller"), err.toString());
  }

  @Test
  void stepModeFlagsParse() {
    CommandLine cli = new CommandLine(new UeClientMain());
    CommandLine.ParseResult r =
        cli.parseArgs(
            "eval-ppl",
            "--corpus",
            "x.txt",
            "--follow-controller",
            "--controller",
            "localhost:1",
            "--steps-csv",
            "steps.csv",
            "--tokens",
            "100",
            "--step-tokens",
            "4");
    EvalPplCommand c = (EvalPplCommand) r.subcommand().commandSpec().userObject();
    assertTrue(c.followController);
    assertEquals("localhost:1", c.decisions.controller);
    assertEquals("edge-0", c.decisions.edgeId);
    assertEquals(Path.of("steps.csv"), c.stepsCsv);
    assertEquals(100, c.tokens);
    assertEquals(4, c.stepTokens);
  }
}
