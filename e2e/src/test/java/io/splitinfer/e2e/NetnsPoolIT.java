package io.splitinfer.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The pool of edges across network namespaces (scripts/netns-pool-e2e.sh): a controller, three
 * edges and eight UEs as separate machines with their own IPs and mutual TLS; the UEs are placed
 * 3/3/2, their texts equal single-edge references, and a SIGKILLed edge leaves the pool. Runs where
 * it can (root, iproute2, namespaces allowed) and is skipped with the script's message elsewhere.
 */
class NetnsPoolIT {
  @Test
  void eightUesAreBalancedOverThreeEdgesInNamespaces() throws Exception {
    Path root = RepoPaths.root();
    Path out = Files.createTempFile("netns-pool-e2e", ".log");
    ProcessBuilder pb =
        new ProcessBuilder(
                "bash", root.resolve("scripts/netns-pool-e2e.sh").toString(), "--max-tokens", "12")
            .directory(root.toFile())
            .redirectErrorStream(true)
            .redirectOutput(out.toFile());
    pb.environment().putAll(Map.of("EDGES", "3"));
    Process p = pb.start();
    boolean finished = p.waitFor(9, TimeUnit.MINUTES);
    if (!finished) {
      p.destroyForcibly().waitFor();
    }
    String log = Files.readString(out, StandardCharsets.UTF_8);
    System.out.println(log);
    assumeTrue(!finished || p.exitValue() != 77, () -> "skipped: " + log.strip());
    assertTrue(finished, "netns-pool-e2e.sh did not finish in time:\n" + log);
    assertEquals(0, p.exitValue(), "netns-pool-e2e.sh failed:\n" + log);
    assertTrue(log.contains("netns-pool-e2e: OK"), log);
  }
}
