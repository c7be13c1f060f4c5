package io.splitinfer.controller.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.controller.ControllerMain;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;

/** serve refuses bad speculation and channel-source flags as usage errors before it binds. */
class ServeFlagsTest {
  private static String refused(String... args) {
    StringWriter err = new StringWriter();
    var cl = ControllerMain.commandLine();
    cl.setErr(new PrintWriter(err));
    assertEquals(2, cl.execute(args), String.join(" ", args));
    return err.toString();
  }

  @Test
  void badFlagsExitTwoWithTheReason() {
    assertTrue(refused("serve", "--spec-k-max", "40").contains("spec k max must be in [0, 32]"));
    assertTrue(refused("serve", "--spec-k-max=-1").contains("got -1"));
    assertTrue(
        refused("serve", "--spec-k-max", "4", "--spec-acceptance", "1")
            .contains("spec acceptance must be in [0, 1)"));
    assertTrue(
        refused("serve", "--spec-k-max", "4", "--spec-row-cost", "NaN").contains("spec row cost"));
    assertTrue(refused("serve", "--spec-saturated-queue", "0").contains("spec saturated queue"));
    assertTrue(refused("serve", "--channel-source", "bogus").contains("channel source must be"));
  }
}
