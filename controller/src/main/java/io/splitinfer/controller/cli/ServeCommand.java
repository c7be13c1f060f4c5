package io.splitinfer.controller.cli;

import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.splitinfer.controller.service.ChannelFusion;
import io.splitinfer.controller.service.ChannelSource;
import io.splitinfer.controller.service.ControllerServer;
import io.splitinfer.controller.service.Hysteresis;
import io.splitinfer.controller.service.PolicyFactory;
import io.splitinfer.controller.service.RegistrationLimits;
import io.splitinfer.controller.service.SpecDepth;
import io.splitinfer.controller.service.SplitControllerService;
import io.splitinfer.controller.service.SplitPolicy;
import io.splitinfer.controller.store.ControllerJournal;
import io.splitinfer.controller.store.ControllerStore;
import io.splitinfer.controller.store.StoredPolicy;
import io.splitinfer.core.cli.HostPort;
import io.splitinfer.core.metrics.MetricsHttpServer;
import io.splitinfer.core.security.TlsFlags;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code controller serve}: the SplitController gRPC service. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = "Serve SplitController: registrations, channel reports, decisions, operator API.")
final class ServeCommand implements Callable<Integer> {
  @Option(
      names = "--listen",
      description = "gRPC HOST:PORT to bind (HOST 0.0.0.0 = every interface)",
      defaultValue = "0.0.0.0:50053")
  String listen;

  @Option(
      names = "--port",
      description = "shorthand for --listen 0.0.0.0:PORT (-1: use --listen)",
      defaultValue = "-1")
  int port;

  @Option(
      names = "--advertise",
      description =
          "address others should use for this controller (informational; default: --listen)",
      defaultValue = "")
  String advertise;

  @Option(
      names = "--channel-sim",
      description = "channel-sim HOST:PORT to watch",
      defaultValue = "")
  String channelSim;

  @Option(
      names = "--policy",
      description = "ppo, fixed, random, oracle or oracle-table",
      defaultValue = "ppo")
  String policy;

  @Option(
      names = "--checkpoint",
      description = "PPO checkpoint (default: the jar's)",
      defaultValue = "")
  String checkpoint;

  @Option(
      names = "--surrogate-file",
      description = "surrogate for the oracle (default: the jar's)",
      defaultValue = "")
  String surrogateFile;

  @Option(
      names = "--ppl-table",
      description =
          "measured PPL table (records CSV) for --policy oracle-table (default: the jar's)",
      defaultValue = "")
  String pplTable;

  @Option(
      names = "--db",
      description =
          "records database that keeps registrations, decisions and the policy choice across"
              + " restarts: an H2 file path, a JDBC URL (jdbc:postgresql://HOST:5432/DB?user=U"
              + "&password=P), or none (nothing kept)",
      defaultValue = "controller-records")
  String db;

  @Option(
      names = "--metrics-port",
      description = "Prometheus /metrics; -1 disables",
      defaultValue = "9093")
  int metricsPort;

  @Option(
      names = "--channel-source",
      description =
          "state decisions are made on: estimate (the edge's pilot/packet evidence, fused per UE)"
              + " or channel-sim (ground truth from --channel-sim, an oracle for evaluation)",
      defaultValue = "estimate")
  String channelSource;

  @Option(
      names = {"--decision-interval-ms", "--decision-interval"},
      description = "cadence of decisions in ms; 0: on state change only",
      defaultValue = "1000")
  long decisionIntervalMs;

  @Option(
      names = "--estimate-half-life-ms",
      description = "half-life of the exponentially weighted channel evidence",
      defaultValue = "20000")
  long halfLifeMs;

  @Option(
      names = "--min-evidence-packets",
      description = "effective packets a UE's estimate needs before it is acted on",
      defaultValue = "32")
  double minEvidencePackets;

  @Option(
      names = "--min-sigma-dof",
      description = "degrees of freedom of the σ estimate (pilot elements) needed before acting",
      defaultValue = "300")
  double minSigmaDof;

  @Option(
      names = "--confirmations",
      description = "hysteresis: identical proposals needed",
      defaultValue = "2")
  int confirmations;

  @Option(
      names = "--min-dwell-ms",
      description = "hysteresis: minimum time between changes",
      defaultValue = "2000")
  long minDwellMs;

  @Option(
      names = {"--sigma-delta", "--channel-delta"},
      description = "hysteresis: relative change of σ that moves the state in force",
      defaultValue = "" + Hysteresis.DEFAULT_SIGMA_DELTA)
  double sigmaDelta;

  @Option(
      names = "--loss-delta",
      description =
          "hysteresis: change of P, beyond its 95 % interval, that moves the state in force",
      defaultValue = "" + Hysteresis.DEFAULT_LOSS_DELTA)
  double lossDelta;

  @Option(
      names = "--initial-split",
      description = "split of a new UE; -1: middle of its range",
      defaultValue = "-1")
  int initialSplit;

  @Option(
      names = "--fixed-split",
      description = "split of the fixed policy; -1: middle",
      defaultValue = "-1")
  int fixedSplit;

  @Option(
      names = "--ppo-moves",
      description =
          "most layers one PPO decision may move (the actor rolled forward on the state in force"
              + " until it says stay); 1: one move per decision, as in the MDP",
      defaultValue = "1")
  int ppoMoves;

  @Option(names = "--seed", description = "seed of the random policy", defaultValue = "1")
  long seed;

  @Option(
      names = "--checkpoint-named",
      paramLabel = "NAME=PATH",
      description =
          "a checkpoint SetPolicy may choose by NAME (repeatable); callers never give paths")
  java.util.Map<String, String> namedCheckpoints = new java.util.LinkedHashMap<>();

  @Option(
      names = "--max-ues",
      description = "registered UEs at most (more: RESOURCE_EXHAUSTED)",
      defaultValue = "10000")
  int maxUes;

  @Option(
      names = "--ue-ttl-s",
      description = "forget a UE without activity and watchers for this long",
      defaultValue = "600")
  long ueTtlS;

  @Option(
      names = "--metrics-host",
      description = "host the metrics/health HTTP port binds (default: the --listen host)")
  String metricsHost;

  @Mixin SpecDepthFlags spec;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec command;

  @Option(
      names = "--edge-ttl-ms",
      description =
          "an edge of the pool silent this long (no load report) leaves it; its stream ending"
              + " removes it at once",
      defaultValue = "5000")
  long edgeTtlMs;

  @Option(
      names = "--health-port",
      description =
          "plaintext port serving only gRPC health (grpc.health.v1), for Kubernetes probes;"
              + " bound on the --listen host (-1 = off)",
      defaultValue = "-1")
  int healthPort;

  @Mixin TlsFlags tls;

  private java.net.InetSocketAddress bindAddress() {
    if (port >= 0) {
      return new java.net.InetSocketAddress(port);
    }
    return HostPort.parse(listen, "--listen").toSocketAddress();
  }

  @Override
  public Integer call() throws Exception {
    SpecDepth depth;
    ChannelSource source;
    try {
      depth = spec.depth();
      source = ChannelSource.parse(channelSource);
    } catch (IllegalArgumentException e) {
      throw new picocli.CommandLine.ParameterException(command.commandLine(), e.getMessage());
    }
    if (source == ChannelSource.CHANNEL_SIM && channelSim.isBlank()) {
      throw new IllegalArgumentException(
          "--channel-source channel-sim needs --channel-sim HOST:PORT");
    }
    PolicyFactory factory =
        new PolicyFactory(
                checkpoint,
                surrogateFile,
                fixedSplit,
                seed,
                pplTable,
                namedCheckpoints,
                PolicyFactory::loadCheckpoint)
            .ppoMoves(ppoMoves);
    java.net.InetSocketAddress bind = bindAddress();
    String host = port >= 0 ? "0.0.0.0" : bind.getHostString();
    ServerCredentials creds = tls.serverCredentials(host, false);
    ControllerStore store = db.isBlank() || db.equals("none") ? null : ControllerStore.open(db);
    ControllerStore.Snapshot snapshot =
        store == null ? ControllerStore.Snapshot.EMPTY : store.load();
    SplitPolicy initial = StoredPolicy.initial(factory, policy, checkpoint, snapshot);
    PrometheusMeterRegistry registry = MetricsHttpServer.newRegistry();
    SplitControllerService service =
        new SplitControllerService(
            initial,
            factory,
            new Hysteresis(confirmations, Duration.ofMillis(minDwellMs), sigmaDelta, lossDelta),
            initialSplit,
            Clock.systemUTC(),
            registry,
            source,
            new ChannelFusion.Config(
                Duration.ofMillis(halfLifeMs), minEvidencePackets, minSigmaDof));
    if (store != null) {
      service.restore(
          snapshot,
          ControllerJournal.failSoft(
              store, () -> registry.counter("controller_store_failures_total").increment()));
    }
    service.pool().ttl(Duration.ofMillis(edgeTtlMs));
    service.speculation(depth);
    service.secure(tls.authz(registry), new RegistrationLimits(maxUes, Duration.ofSeconds(ueTtlS)));
    String mHost = metricsHost != null && !metricsHost.isBlank() ? metricsHost : host;
    MetricsHttpServer metrics =
        metricsPort >= 0 ? new MetricsHttpServer(registry, mHost, metricsPort).start() : null;
    ControllerServer server =
        new ControllerServer(
                service,
                NettyServerBuilder.forAddress(bind, creds).intercept(tls.interceptor(registry)),
                Duration.ofMillis(decisionIntervalMs),
                channelSim,
                channelSim.isBlank()
                    ? null
                    : tls.channelCredentials(
                        HostPort.parse(channelSim, "--channel-sim").host(), false))
            .healthPort(healthPort >= 0 ? new java.net.InetSocketAddress(host, healthPort) : null)
            .start();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.close();
                  if (metrics != null) {
                    metrics.close();
                  }
                  if (store != null) {
                    store.close();
                  }
                }));
    System.out.printf(
        "controller listening on %s port %d, advertised as %s (policy %s %s, channel source %s)%s%s%s%n",
        bindAddress().getHostString(),
        server.port(),
        advertise.isBlank() ? listen : advertise,
        initial.name(),
        initial.checkpoint(),
        source.flag(),
        metrics == null ? "" : ", metrics on " + metrics.port(),
        channelSim.isBlank() ? "" : ", watching channel-sim " + channelSim,
        store == null
            ? ", state not kept (--db none)"
            : String.format(
                ", state in %s (restored %d UEs, %d edges)",
                store.url(), snapshot.ues().size(), snapshot.edges().size()));
    server.awaitTermination();
    return 0;
  }
}
