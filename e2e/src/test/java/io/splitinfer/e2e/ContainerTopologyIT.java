package io.splitinfer.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.BindMode;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.startupcheck.OneShotStartupCheckStrategy;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.junit.jupiter.Testcontainers;
import org.testcontainers.utility.DockerImageName;

/**
 * The docker-compose topology with Testcontainers: controller, edge-server, channel-sim and a UE
 * job on one network, from the local images that scripts/docker-e2e.sh builds
 * (splitinfer/SERVICE:dev). Skipped without a Docker engine or without those images.
 */
@Testcontainers(disabledWithoutDocker = true)
class ContainerTopologyIT {
  private static final List<String> SERVICES =
      List.of("controller", "edge-server", "channel-sim", "ue-client");

  private static DockerImageName image(String service) {
    return DockerImageName.parse("splitinfer/" + service + ":dev");
  }

  private static boolean imagePresent(String service) {
    try {
      DockerClientFactory.instance()
          .client()
          .inspectImageCmd(image(service).asCanonicalNameString())
          .exec();
      return true;
    } catch (RuntimeException e) {
      return false;
    }
  }

  /** Mutual TLS with a throwaway CA (scripts/gen-certs.sh), mounted read-only at /certs. */
  private static GenericContainer<?> tls(
      GenericContainer<?> c, Path certs, String svc, boolean server) {
    c.withFileSystemBind(certs.toString(), "/certs", BindMode.READ_ONLY)
        .withEnv("TLS_CERT", "/certs/" + svc + ".pem")
        .withEnv("TLS_KEY", "/certs/" + svc + ".key")
        .withEnv("TLS_CA", "/certs/ca.pem");
    if (server) {
      c.withEnv("TLS_CLIENT_AUTH", "true");
    }
    return c;
  }

  private static Path certs() throws IOException, InterruptedException {
    Path dir = Files.createTempDirectory("splitinfer-tc-certs");
    // a temp directory is 0700: the containers' uid 10001 could not even look inside it
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
    ProcessBuilder p =
        new ProcessBuilder(
                "bash",
                RepoPaths.root().resolve("scripts/gen-certs.sh").toString(),
                dir.toString(),
                "controller",
                "edge-server",
                "channel-sim")
            .redirectErrorStream(true);
    p.environment().put("UE_ID", "tc-ue");
    Process run = p.start();
    String log = new String(run.getInputStream().readAllBytes());
    assumeTrue(run.waitFor() == 0, "cannot generate certificates: " + log);
    try (var keys = Files.newDirectoryStream(dir, "*.key")) {
      for (Path k : keys) { // the containers run as uid 10001; this CA is for this test only
        Files.setPosixFilePermissions(k, PosixFilePermissions.fromString("rw-r--r--"));
      }
    }
    return dir;
  }

  @Test
  void ueGeneratesThroughChannelSimToEdgeWithController() throws Exception {
    for (String s : SERVICES) {
      assumeTrue(
          imagePresent(s),
          "image splitinfer/" + s + ":dev not built (scripts/docker-e2e.sh builds it)");
    }
    Path pki = certs();
    try (Network net = Network.newNetwork();
        GenericContainer<?> controller =
            tls(new GenericContainer<>(image("controller")), pki, "controller", true)
                .withNetwork(net)
                .withNetworkAliases("controller")
                .withCommand(
                    "serve",
                    "--listen",
                    "0.0.0.0:50053",
                    "--advertise",
                    "controller:50053",
                    "--channel-sim",
                    "channel-sim:50052",
                    "--metrics-port",
                    "9093")
                .waitingFor(Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(3)));
        GenericContainer<?> edge =
            tls(new GenericContainer<>(image("edge-server")), pki, "edge", true)
                .withNetwork(net)
                .withNetworkAliases("edge-server")
                .withCommand(
                    "--listen",
                    "0.0.0.0:50051",
                    "--advertise",
                    "edge-server:50051",
                    "--controller",
                    "controller:50053",
                    "--metrics-port",
                    "9091")
                .waitingFor(Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(3)));
        GenericContainer<?> channel =
            tls(new GenericContainer<>(image("channel-sim")), pki, "channel-sim", true)
                .withNetwork(net)
                .withNetworkAliases("channel-sim")
                .withCommand(
                    "serve",
                    "--listen",
                    "0.0.0.0:50052",
                    "--edge",
                    "edge-server:50051",
                    "--sigma",
                    "0.05",
                    "--metrics-port",
                    "9092")
                .waitingFor(Wait.forHealthcheck().withStartupTimeout(Duration.ofMinutes(3)));
        GenericContainer<?> ue =
            tls(new GenericContainer<>(image("ue-client")), pki, "ue", false)
                .withNetwork(net)
                .withCommand(
                    "generate",
                    "--prompt",
                    "The state of the Union is",
                    "--max-tokens",
                    "16",
                    "--edge",
                    "channel-sim:50052",
                    "--controller",
                    "controller:50053",
                    "--ue-id",
                    "tc-ue")
                .withStartupCheckStrategy(
                    new OneShotStartupCheckStrategy().withTimeout(Duration.ofMinutes(4)))) {
      controller.start();
      edge.start();
      channel.start();
      ue.start(); // returns once the job exited 0, else throws
      String out = ue.getLogs();
      System.out.println(out);
      assertTrue(out.contains("tokens 16"), out); // the UE's summary line: 16 tokens came back
    }
  }
}
