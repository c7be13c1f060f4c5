package io.splitinfer.e2e;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.testcontainers.DockerClientFactory;
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

  @Test
  void ueGeneratesThroughChannelSimToEdgeWithController() {
    for (String s : SERVICES) {
      assumeTrue(
          imagePresent(s),
          "image splitinfer/" + s + ":dev not built (scripts/docker-e2e.sh builds it)");
    }
    try (Network net = Network.newNetwork();
        GenericContainer<?> controller =
            new GenericContainer<>(image("controller"))
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
            new GenericContainer<>(image("edge-server"))
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
            new GenericContainer<>(image("channel-sim"))
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
            new GenericContainer<>(image("ue-client"))
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
