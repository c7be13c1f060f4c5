package io.splitinfer.controller.live;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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

  /** Starts edge-server and channel-sim and waits until both listen. */
  public LiveProcesses start() throws IOException, InterruptedException {
    Files.createDirectories(logs);
    edgePort = JavaProcess.freePort();
    JavaProcess edge =
        track(
            JavaProcess.start(
                "edge-server",
                config.jar("edge-server"),
                SERVER_JVM,
                List.of(
                    "--listen", "127.0.0.1:" + edgePort, "--metrics-port", "-1", "--threads", "1"),
                logs.resolve("edge-server.log"),
                config.out()));
    simPort = JavaProcess.freePort();
    JavaProcess sim =
        track(
            JavaProcess.start(
                "channel-sim",
                config.jar("channel-sim"),
                SERVER_JVM,
                List.of(
                    "serve",
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

  /** The controller of a live policy ("ppo" or "oracle"), started on first use. */
  public Controller controller(String policy) throws IOException, InterruptedException {
    boolean isPpo = policy.equals("ppo");
    Controller c = isPpo ? ppo : oracle;
    if (c != null) {
      return c;
    }
    int port = JavaProcess.freePort();
    List<String> args =
        new ArrayList<>(
            List.of(
                "serve",
                "--listen",
                "127.0.0.1:" + port,
                "--channel-sim",
                "127.0.0.1:" + simPort,
                "--metrics-port",
                "-1",
                "--db",
                "jdbc:h2:mem:live-" + policy));
    boolean sources = supports("controller", List.of("serve"), "--channel-source");
    if (isPpo) {
      args.addAll(List.of("--policy", "ppo"));
      if (sources) {
        args.addAll(List.of("--channel-source", "estimate"));
      }
      args.addAll(config.ppoControllerArgs());
    } else {
      args.addAll(List.of("--policy", "oracle-table", "--ppl-table", config.pplTable().toString()));
      if (sources) {
        args.addAll(List.of("--channel-source", "channel-sim"));
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
    c = new Controller(port, channel(port));
    if (isPpo) {
      ppo = c;
    } else {
      oracle = c;
    }
    return c;
  }

  /** Runs one ue-client command to completion; its output goes to {@code log}. */
  public int runUe(List<String> args, Path log) throws IOException, InterruptedException {
    try (JavaProcess ue =
        JavaProcess.start("ue-client", config.jar("ue-client"), JVM, args, log, config.out())) {
      return ue.await(Duration.ofSeconds(config.runTimeoutS()));
    }
  }

  /** Whether {@code jar args --help} mentions {@code flag} (feature detection across branches). */
  public boolean supports(String module, List<String> helpArgs, String flag)
      throws IOException, InterruptedException {
    Path log = logs.resolve("help-" + module + ".txt");
    Files.deleteIfExists(log);
    List<String> args = new ArrayList<>(helpArgs);
    args.add("--help");
    try (JavaProcess p =
        JavaProcess.start(module, config.jar(module), JVM, args, log, config.out())) {
      p.await(Duration.ofMinutes(1));
    }
    return Files.readString(log, StandardCharsets.UTF_8).contains(flag);
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
