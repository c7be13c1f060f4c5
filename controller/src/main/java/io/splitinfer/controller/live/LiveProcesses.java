package io.splitinfer.controller.live;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The long-lived processes of the experiment, started once and reused by every run: edge-server,
 * channel-sim in front of it, and one controller per live policy (started on first use). All bind
 * to free loopback ports; metrics are off or on ephemeral ports. {@link #close()} stops them all.
 */
public final class LiveProcesses implements AutoCloseable {
  private static final List<String> JVM =
      List.of("-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");
  private static final List<String> SERVER_JVM = List.of("-Xmx768m", "-XX:+UseSerialGC");

  private final LiveConfig config;
  private final Path logs;
  private final List<AutoCloseable> open = new ArrayList<>();
  private int edgePort;
  private int simPort;
  private ManagedChannel simChannel;
  private Controller ppo;
  private Controller oracle;

  /** A running controller and a channel to it. */
  public record Controller(int port, ManagedChannel channel) {}

  public LiveProcesses(LiveConfig config) {
    this.config = config;
    this.logs = config.out().resolve("logs");
  }

  /**
   * Starts the live PPO controller (the edge reports its channel evidence there), edge-server and
   * channel-sim in front of it, and waits until all listen.
   */
  public LiveProcesses start() throws IOException, InterruptedException {
    Files.createDirectories(logs);
    edgePort = JavaProcess.freePort();
    simPort = JavaProcess.freePort();
    ppo = startController("ppo");
    List<String> edgeArgs =
        new ArrayList<>(
            List.of(
                "--plaintext", // every process of the experiment is on loopback
                "--listen",
                "127.0.0.1:" + edgePort,
                "--metrics-port",
                "-1",
                "--threads",
                "1",
                "--controller",
                "127.0.0.1:" + ppo.port()));
    edgeArgs.addAll(config.edgeArgs());
    JavaProcess edge =
        track(
            JavaProcess.start(
                "edge-server",
                config.jar("edge-server"),
                SERVER_JVM,
                edgeArgs,
                logs.resolve("edge-server.log"),
                config.out()));
    JavaProcess sim =
        track(
            JavaProcess.start(
                "channel-sim",
                config.jar("channel-sim"),
                SERVER_JVM,
                List.of(
                    "serve",
                    "--plaintext",
                    "--listen",
                    "127.0.0.1:" + simPort,
                    "--edge",
                    "127.0.0.1:" + edgePort,
                    "--metrics-port",
                    "0"),
                logs.resolve("channel-sim.log"),
                config.out()));
    edge.awaitPort(edgePort, Duration.ofMinutes(3));
    sim.awaitPort(simPort, Duration.ofMinutes(2));
    simChannel = channel(simPort);
    return this;
  }

  public int simPort() {
    return simPort;
  }

  public ManagedChannel simChannel() {
    return simChannel;
  }

  /** The controller of a live policy ("ppo" or "oracle"; the oracle's is started on first use). */
  public Controller controller(String policy) throws IOException, InterruptedException {
    if (policy.equals("ppo")) {
      return ppo;
    }
    if (oracle == null) {
      oracle = startController("oracle");
    }
    return oracle;
  }

  /**
   * Live PPO runs on the receiver's estimate (the edge's reports, {@code --channel-source
   * estimate}); the oracle on channel-sim's truth ({@code --channel-source channel-sim}) with the
   * measured PPL table.
   */
  private Controller startController(String policy) throws IOException, InterruptedException {
    int port = JavaProcess.freePort();
    List<String> args =
        new ArrayList<>(
            List.of(
                "serve",
                "--plaintext",
                "--listen",
                "127.0.0.1:" + port,
                "--metrics-port",
                "-1",
                // each run starts from nothing: no decisions or policy restored from an earlier
                // run,
                // and the two controllers do not contend for one records file
                "--db",
                "none"));
    if (policy.equals("ppo")) {
      args.addAll(List.of("--policy", "ppo", "--channel-source", "estimate"));
      args.addAll(config.ppoControllerArgs());
    } else {
      args.addAll(
          List.of(
              "--policy",
              "oracle-table",
              "--channel-source",
              "channel-sim",
              "--channel-sim",
              "127.0.0.1:" + simPort));
      if (config.pplTable() != null) {
        args.addAll(List.of("--ppl-table", config.pplTable().toString()));
      }
      args.addAll(config.oracleControllerArgs());
    }
    JavaProcess p =
        track(
            JavaProcess.start(
                "controller-" + policy,
                config.jar("controller"),
                SERVER_JVM,
                args,
                logs.resolve("controller-" + policy + ".log"),
                config.out()));
    p.awaitPort(port, Duration.ofMinutes(2));
    return new Controller(port, channel(port));
  }

  /** Runs one ue-client command to completion; its output goes to {@code log}. */
  public int runUe(List<String> args, Path log) throws IOException, InterruptedException {
    try (JavaProcess ue =
        JavaProcess.start("ue-client", config.jar("ue-client"), JVM, args, log, config.out())) {
      return ue.await(Duration.ofSeconds(config.runTimeoutS()));
    }
  }

  private JavaProcess track(JavaProcess p) {
    open.add(p);
    return p;
  }

  private ManagedChannel channel(int port) {
    ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    open.add(
        () -> {
          ch.shutdownNow();
          ch.awaitTermination(5, TimeUnit.SECONDS);
        });
    return ch;
  }

  @Override
  public void close() {
    for (int i = open.size() - 1; i >= 0; i--) {
      try {
        open.get(i).close();
      } catch (Exception e) {
        System.err.println("live-eval: closing: " + e);
      }
    }
    open.clear();
  }
}
