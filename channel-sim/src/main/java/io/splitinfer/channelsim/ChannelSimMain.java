package io.splitinfer.channelsim;

import com.google.protobuf.util.JsonFormat;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.core.channel.Scenario;
import io.splitinfer.core.cli.FlagDefaults;
import io.splitinfer.core.cli.HostPort;
import io.splitinfer.core.metrics.MetricsHttpServer;
import io.splitinfer.core.security.TlsFlags;
import io.splitinfer.core.security.TlsOptions;
import io.splitinfer.proto.v1.ChannelControlGrpc;
import io.splitinfer.proto.v1.ChannelParameters;
import io.splitinfer.proto.v1.ChannelState;
import io.splitinfer.proto.v1.GetParametersRequest;
import io.splitinfer.proto.v1.GetStatisticsRequest;
import io.splitinfer.proto.v1.LoadScenarioRequest;
import io.splitinfer.proto.v1.WatchChannelRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Command-line entry point of channel-sim. */
@Command(
    name = "channel-sim",
    mixinStandardHelpOptions = true,
    version = "channel-sim 0.1.0",
    description = "gRPC proxy that impairs hidden states like a fading wireless uplink.",
    showDefaultValues = true,
    subcommands = {
      ChannelSimMain.Serve.class,
      ChannelSimMain.Get.class,
      ChannelSimMain.Set.class,
      ChannelSimMain.Load.class,
      ChannelSimMain.Watch.class,
      ChannelSimMain.Stats.class,
      Bench.class
    })
public final class ChannelSimMain implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(ChannelSimMain.class);

  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 0;
  }

  public static void main(String[] args) {
    CommandLine cmd = new CommandLine(new ChannelSimMain());
    cmd.setExecutionExceptionHandler(
        (e, c, pr) -> {
          c.getErr().println("channel-sim: " + e.getMessage());
          return e instanceof IllegalArgumentException ? 2 : 1;
        });
    System.exit(FlagDefaults.install(cmd, args).execute(args));
  }

  @Command(
      name = "serve",
      mixinStandardHelpOptions = true,
      showDefaultValues = true,
      description = "Run the proxy: listen for UEs, forward to the edge through the channel.")
  static final class Serve implements Callable<Integer> {
    @Option(names = "--listen", defaultValue = "0.0.0.0:50052", description = "HOST:PORT for UEs.")
    String listen;

    @Option(names = "--edge", defaultValue = "localhost:50051", description = "Edge HOST:PORT.")
    String edge;

    @Option(
        names = "--scenario",
        description = "case-L | case-H | case-A | static | FILE (JSON), applied over the flags.")
    String scenario;

    @Option(names = "--metrics-port", defaultValue = "9092", description = "Prometheus port.")
    int metricsPort;

    @Option(
        names = "--metrics-host",
        description = "Host the metrics/health HTTP port binds (default: the --listen host).")
    String metricsHost;

    @Option(
        names = "--max-message-bytes",
        defaultValue = "" + ChannelSimServer.DEFAULT_MAX_MESSAGE_BYTES,
        description =
            "Largest gRPC message accepted either way; larger ones get RESOURCE_EXHAUSTED before"
                + " they are buffered (default: one 512-token fp32 chunk at hidden size 8192).")
    int maxMessageBytes;

    @Option(
        names = "--health-port",
        defaultValue = "-1",
        description =
            "Plaintext port serving only gRPC health (grpc.health.v1), for Kubernetes probes;"
                + " bound on the --listen host (-1 = off).")
    int healthPort;

    @Mixin TlsFlags tls;

    @Mixin ChannelOptions channel;

    @Override
    public Integer call() throws Exception {
      HostPort l = HostPort.parse(listen, "--listen");
      ChannelParams params = channel.apply(ChannelParams.IDEAL, false);
      Scenario s = null;
      if (scenario != null && !scenario.isBlank()) {
        Path f = Path.of(scenario);
        s =
            Files.isRegularFile(f)
                ? Scenario.fromJson(Files.readString(f))
                : Scenario.builtin(scenario);
      }
      // TLS is required: without TLS flags, only --plaintext on loopback.
      TlsOptions transport = tls.options(false);
      ChannelSimServer.Security security =
          new ChannelSimServer.Security(transport, transport, tls.tokens(), tls.authenticates());
      PrometheusMeterRegistry registry = MetricsHttpServer.newRegistry();
      String mHost = metricsHost != null && !metricsHost.isBlank() ? metricsHost : l.host();
      try (MetricsHttpServer metrics = new MetricsHttpServer(registry, mHost, metricsPort).start();
          ChannelSimServer server =
              new ChannelSimServer(
                      new ChannelSimServer.Config(
                          l.host(),
                          l.port(),
                          edge,
                          params,
                          s,
                          params.seed(),
                          maxMessageBytes,
                          security),
                      registry)
                  .healthPort(healthPort)
                  .start()) {
        log.info(
            "channel-sim listening on {}:{} ({}{}) -> edge {}, metrics {}:{}, channel {}",
            l.host(),
            server.port(),
            transport.mode(),
            security.authenticate() ? ", authenticated" : "",
            edge,
            mHost,
            metrics.port(),
            server.simulator().params());
        Runtime.getRuntime()
            .addShutdownHook(
                new Thread(
                    () -> {
                      try {
                        server.close();
                      } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                      }
                    }));
        server.awaitTermination();
      }
      return 0;
    }
  }

  /** Options of the client subcommands. */
  abstract static class Client implements Callable<Integer> {
    @Option(
        names = "--target",
        defaultValue = "localhost:50052",
        description = "channel-sim HOST:PORT.")
    String target;

    @Mixin TlsFlags tls;

    ManagedChannel channel() {
      String host = HostPort.parse(target, "--target").host();
      return NettyChannelBuilder.forTarget(target, tls.channelCredentials(host, false)).build();
    }

    abstract void run(ChannelControlGrpc.ChannelControlBlockingStub stub) throws Exception;

    @Override
    public Integer call() throws Exception {
      ManagedChannel ch = channel();
      try {
        run(ChannelControlGrpc.newBlockingStub(ch));
      } finally {
        ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      return 0;
    }

    static void print(com.google.protobuf.MessageOrBuilder m) throws Exception {
      System.out.println(JsonFormat.printer().alwaysPrintFieldsWithNoPresence().print(m));
    }
  }

  @Command(
      name = "get",
      mixinStandardHelpOptions = true,
      showDefaultValues = true,
      description = "Print the channel parameters in force (JSON).")
  static final class Get extends Client {
    @Override
    void run(ChannelControlGrpc.ChannelControlBlockingStub stub) throws Exception {
      print(stub.getParameters(GetParametersRequest.getDefaultInstance()));
    }
  }

  @Command(
      name = "set",
      mixinStandardHelpOptions = true,
      showDefaultValues = true,
      description = "Change the flags given (others keep their current values); ends a scenario.")
  static final class Set extends Client {
    @Mixin ChannelOptions channel;

    @Override
    void run(ChannelControlGrpc.ChannelControlBlockingStub stub) throws Exception {
      ChannelParams current =
          ProtoChannelParams.fromProto(
              stub.getParameters(GetParametersRequest.getDefaultInstance()), ChannelParams.IDEAL);
      ChannelParameters next = ProtoChannelParams.toProto(channel.apply(current, true));
      print(stub.setParameters(next));
    }
  }

  @Command(
      name = "load",
      mixinStandardHelpOptions = true,
      showDefaultValues = true,
      description = "Load a scenario: a built-in name or a JSON file.")
  static final class Load extends Client {
    @Option(names = "--scenario", required = true, description = "case-L|case-H|case-A|static|FILE")
    String scenario;

    @Option(names = "--seed", defaultValue = "0", description = "0 = the parameters' seed.")
    long seed;

    @Override
    void run(ChannelControlGrpc.ChannelControlBlockingStub stub) throws Exception {
      LoadScenarioRequest.Builder b = LoadScenarioRequest.newBuilder().setSeed(seed);
      Path f = Path.of(scenario);
      if (Files.isRegularFile(f)) {
        b.setJson(Files.readString(f));
      } else {
        b.setBuiltin(scenario);
      }
      print(stub.loadScenario(b.build()));
    }
  }

  @Command(
      name = "watch",
      mixinStandardHelpOptions = true,
      showDefaultValues = true,
      description = "Stream the channel state (one JSON object per line).")
  static final class Watch extends Client {
    @Option(names = "--interval-ms", defaultValue = "1000", description = "At least this often.")
    int intervalMs;

    @Option(names = "--count", defaultValue = "0", description = "Stop after N states (0 = never).")
    int count;

    @Override
    void run(ChannelControlGrpc.ChannelControlBlockingStub stub) throws Exception {
      Iterator<ChannelState> it =
          stub.watchChannel(WatchChannelRequest.newBuilder().setIntervalMs(intervalMs).build());
      JsonFormat.Printer p = JsonFormat.printer().omittingInsignificantWhitespace();
      for (int n = 0; it.hasNext() && (count == 0 || n < count); n++) {
        System.out.println(p.print(it.next()));
      }
    }
  }

  @Command(
      name = "stats",
      mixinStandardHelpOptions = true,
      showDefaultValues = true,
      description = "Print channel statistics (JSON).")
  static final class Stats extends Client {
    @Override
    void run(ChannelControlGrpc.ChannelControlBlockingStub stub) throws Exception {
      print(stub.getStatistics(GetStatisticsRequest.getDefaultInstance()));
    }
  }
}
