package io.splitinfer.edge;

import io.grpc.ManagedChannel;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.nio.NioEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.socket.nio.NioSocketChannel;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.core.cli.FlagDefaults;
import io.splitinfer.core.cli.HostPort;
import io.splitinfer.core.metrics.MetricsHttpServer;
import io.splitinfer.core.security.TlsFlags;
import io.splitinfer.model.cli.EngineKindConverter;
import io.splitinfer.model.engine.EngineKind;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.pkg.DefaultModel;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.tokenizer.PieceCache;
import io.splitinfer.model.tokenizer.TextTokenizer;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Command-line entry point of edge-server. */
@Command(
    name = "edge-server",
    mixinStandardHelpOptions = true,
    version = "edge-server 0.1.0",
    description = "Runs decoder layers p+1..L, the LM head and sampling for UE sessions.",
    showDefaultValues = true)
public final class EdgeServerMain implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(EdgeServerMain.class);

  @Option(names = "--listen", defaultValue = "0.0.0.0:50051", description = "gRPC HOST:PORT.")
  String listen;

  @Option(names = "--model", description = "Model package directory (default: the embedded model).")
  Path model;

  @Option(
      names = "--threads",
      defaultValue = "0",
      description =
          "Engine threads (ONNX Runtime intra-op, 0 = runtime default; vector engine, 0 = 1).")
  int threads;

  @Option(
      names = "--engine",
      defaultValue = "onnx",
      converter = EngineKindConverter.class,
      description =
          "onnx or vector (the Java Vector API engine, f32/f16 packages; needs java --add-modules"
              + " jdk.incubator.vector). UEs must run the same kind.")
  EngineKind engineKind;

  @Option(
      names = "--cuda",
      defaultValue = "false",
      description = "Run on the CUDA execution provider.")
  boolean cuda;

  @Option(names = "--max-sessions", defaultValue = "64", description = "Concurrent sessions.")
  int maxSessions;

  @Option(
      names = "--kv-budget-mb",
      defaultValue = "1024",
      description = "KV cache budget over all sessions (MiB).")
  long kvBudgetMb;

  @Option(
      names = "--idle-ttl-s",
      defaultValue = "60",
      description = "End sessions idle this long (DEADLINE_EXCEEDED).")
  long idleTtlS;

  @Option(
      names = "--max-chunk",
      defaultValue = "512",
      description = "Largest hidden-state rows per message.")
  int maxChunk;

  @Option(
      names = "--max-new-tokens",
      defaultValue = "4096",
      description = "Upper bound on tokens per session.")
  int maxNewTokens;

  @Option(names = "--min-split", defaultValue = "0", description = "Smallest split accepted.")
  int minSplit;

  @Option(
      names = "--max-split",
      defaultValue = "-1",
      description = "Largest split accepted (-1 = L).")
  int maxSplit;

  @Option(
      names = "--batch-decode",
      defaultValue = "false",
      negatable = true,
      description = "Batch decode steps of concurrent sessions per layer (runLayersBatch).")
  boolean batchDecode;

  @Option(
      names = "--batch-window-us",
      defaultValue = "0",
      description = "How long a decode batch waits for more steps.")
  long batchWindowUs;

  @Option(
      names = "--batch-max",
      defaultValue = "16",
      description = "Most decode steps in one batch.")
  int batchMax;

  @Option(
      names = "--controller",
      description = "Controller HOST:PORT: register and report pilot estimates.")
  String controller;

  @Option(
      names = "--advertise",
      description = "Address to register with the controller (default: --listen).")
  String advertise;

  @Option(
      names = "--inline-calls",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description =
          "Run session work on the transport threads (gRPC directExecutor): lower per-token"
              + " latency; --no-inline-calls hands it to a thread pool instead.")
  boolean inlineCalls;

  @Option(names = "--edge-id", defaultValue = "edge-0", description = "Edge id at the controller.")
  String edgeId;

  @Option(
      names = "--pilot-packet-bytes",
      defaultValue = "" + ChannelParams.DEFAULT_PACKET_BYTES,
      description = "Uplink packet payload bytes (channel-sim's setting) for pilot estimation.")
  int pilotPacketBytes;

  @Option(
      names = "--channel-report-packets",
      defaultValue = "32",
      description =
          "Report channel evidence to the controller every N received packets per session.")
  int reportEveryPackets;

  @Option(
      names = "--channel-report-ms",
      defaultValue = "500",
      description = "... or when the unreported evidence of a session is this many ms old.")
  long reportEveryMs;

  @Option(
      names = "--metrics-port",
      defaultValue = "9091",
      description = "Prometheus /metrics port (-1 = off).")
  int metricsPort;

  @Option(
      names = "--metrics-host",
      description = "Host the metrics/health HTTP port binds (default: the --listen host).")
  String metricsHost;

  @Option(
      names = "--load-report-ms",
      defaultValue = "1000",
      description =
          "With --controller: join the pool of edges, reporting sessions, KV bytes and decode"
              + " queue this often (-1 = register without joining the pool).")
  long loadReportMs;

  @Option(
      names = "--health-port",
      defaultValue = "-1",
      description =
          "Plaintext port serving only gRPC health (grpc.health.v1), for Kubernetes probes;"
              + " bound on the --listen host (-1 = off).")
  int healthPort;

  @Option(
      names = "--max-sessions-per-client",
      defaultValue = "16",
      description = "Open sessions one client (identity, or IP when anonymous) may hold.")
  int sessionsPerClient;

  @Option(
      names = "--max-streams-per-client",
      defaultValue = "32",
      description = "Session streams (opened or not) one client may hold.")
  int streamsPerClient;

  @Option(
      names = "--open-deadline-ms",
      defaultValue = "10000",
      description = "End a stream that sends no `open` this long after it starts.")
  long openDeadlineMs;

  @Option(
      names = "--prefill-slots",
      defaultValue = "1",
      description =
          "Prompt chunks computed at once; waiting ones are admitted round-robin over clients.")
  int prefillSlots;

  @Mixin TlsFlags tls;

  @Override
  public Integer call() throws Exception {
    HostPort l = HostPort.parse(listen, "--listen");
    ServerCredentials creds = tls.serverCredentials(l.host(), false); // refuses bad TLS flags first
    ModelPackage pkg =
        model == null ? DefaultModel.forProcess().locate() : ModelPackage.open(model);
    PrometheusMeterRegistry registry = MetricsHttpServer.newRegistry();
    EdgeMetrics metrics = new EdgeMetrics(registry);
    ClientLimits limits =
        new ClientLimits(
            sessionsPerClient, streamsPerClient, Duration.ofMillis(openDeadlineMs), prefillSlots);
    String mHost = metricsHost != null && !metricsHost.isBlank() ? metricsHost : l.host();
    EdgeConfig config =
        new EdgeConfig(
            maxSessions,
            kvBudgetMb << 20,
            Duration.ofSeconds(idleTtlS),
            maxChunk,
            maxNewTokens,
            minSplit,
            maxSplit,
            batchDecode,
            Duration.ofNanos(batchWindowUs * 1000),
            batchMax);
    ManagedChannel ctl = null;
    // The controller link's own event loop: with --inline-calls, session compute runs on the
    // server's transport threads, which (grpc-netty's shared default group) would otherwise also
    // carry this channel, and load reports would wait for decode steps (seen: an edge decoding 4
    // sessions on a loaded 2-core machine went silent for over 3 s and was dropped from the pool,
    // scripts/netns-pool-e2e.sh with EDGES=2).
    NioEventLoopGroup ctlLoop = null;
    try (InferenceEngine engine =
            pkg.openEngine(
                engineKind, OnnxOptions.defaults().withCuda(cuda).withThreads(threads, 1));
        TextTokenizer tok = pkg.hasTokenizer() ? pkg.openTokenizer() : null;
        MetricsHttpServer http =
            metricsPort >= 0 ? new MetricsHttpServer(registry, mHost, metricsPort).start() : null) {
      IntFunction<String> text = tok != null ? new PieceCache(tok) : id -> "<" + id + ">";
      SplitInferenceService service =
          new SplitInferenceService(
              new EdgeModel(pkg.id(), pkg.sha256(), engine, text),
              config,
              limits,
              tls.authz(registry),
              metrics);
      ControllerLink link = null;
      EdgeLoadMeter meter = null;
      if (controller != null) {
        InetSocketAddress a = HostPort.parse(controller, "--controller").toSocketAddress();
        ctlLoop = new NioEventLoopGroup(1);
        ctl =
            NettyChannelBuilder.forAddress(
                    a.getHostString(),
                    a.getPort(),
                    tls.channelCredentials(a.getHostString(), false))
                .eventLoopGroup(ctlLoop)
                .channelType(NioSocketChannel.class)
                .build();
        link = new ControllerLink(ctl);
        if (loadReportMs >= 0) {
          meter = new EdgeLoadMeter(service, config, Duration.ofMillis(100)).start();
          link.pool(
              new ControllerLink.Pool(
                  meter.capacity(), meter::load, Duration.ofMillis(Math.max(50, loadReportMs))));
        }
      }
      ControllerLink reportTo = link;
      service.setPilotHandler(
          new PilotChannelEstimation(
              pilotPacketBytes,
              reportEveryPackets,
              reportEveryMs,
              System::currentTimeMillis,
              (ue, inc, snrDb) -> {
                if (reportTo != null) {
                  reportTo.report(ue, inc, snrDb);
                }
              }));
      EdgeServer server =
          new EdgeServer(service, metrics)
              .inlineCalls(inlineCalls)
              .security(creds, tls.interceptor(registry))
              .healthPort(healthPort >= 0 ? new InetSocketAddress(l.host(), healthPort) : null)
              .start(l.toSocketAddress());
      if (link != null) {
        // The controller may start after the edge, or restart: the link registers in the
        // background, retrying with backoff, and registers again whenever it loses the controller,
        // so the edge serves UEs meanwhile.
        link.start(edgeId, advertise != null ? advertise : listen, service.modelInfo(), controller);
      }
      System.out.printf(
          "edge-server: model %s (%s) L=%d, listening on %s (port %d)%s%n",
          pkg.id(),
          pkg.sha256().substring(0, 12),
          service.modelInfo().getNumLayers(),
          listen,
          server.port(),
          http != null ? ", metrics on :" + http.port() : "");
      Runtime.getRuntime().addShutdownHook(new Thread(server::close, "edge-shutdown"));
      server.awaitTermination();
      if (link != null) {
        link.close();
      }
      if (meter != null) {
        meter.close();
      }
      return 0;
    } finally {
      if (ctl != null) {
        ctl.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      if (ctlLoop != null) {
        ctlLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      }
    }
  }

  public static void main(String[] args) {
    CommandLine cmd = new CommandLine(new EdgeServerMain());
    cmd.setExecutionExceptionHandler(
        (e, c, pr) -> {
          if (!(e instanceof IllegalArgumentException)) {
            throw e;
          }
          c.getErr().println("edge-server: " + e.getMessage()); // a usage error: no stack trace
          return 2;
        });
    System.exit(FlagDefaults.install(cmd, args).execute(args));
  }
}
