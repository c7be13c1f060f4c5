package io.splitinfer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * UE, channel-sim, edge and controller as four machines: four network namespaces on a bridge,
 * distinct IPs, no shared loopback (scripts/netns-e2e.sh). Runs where it can (root, iproute2,
 * namespaces allowed) and is skipped with the script's message elsewhere.
 */
class NetnsEndToEndIT {
  @Test
  void generatesTextThroughFourNamespaces() throws Exception {
    Path root = RepoPaths.root();
    Path out = Files.createTempFile("netns-e2e", ".log");
    Process p =
        new ProcessBuilder(
                "bash", root.resolve("scripts/netns-e2e.sh").toString(), "--max-tokens", "16")
            .directory(root.toFile())
            .redirectErrorStream(true)
            .redirectOutput(out.toFile())
            .start();
    boolean finished = p.waitFor(8, TimeUnit.MINUTES);
    if (!finished) {
      p.destroyForcibly().waitFor();
    }
    String log = Files.readString(out, StandardCharsets.UTF_8);
    System.out.println(log);
    assumeTrue(!finished || p.exitValue() != 77, () -> "skipped: " + log.strip());
    assertTrue(finished, "netns-e2e.sh did not finish in time:\n" + log);
    assertEquals(0, p.exitValue(), "netns-e2e.sh failed:\n" + log);
    assertTrue(log.contains("netns-e2e: OK"), log);
  }
}
