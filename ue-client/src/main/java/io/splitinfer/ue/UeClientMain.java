package io.splitinfer.ue;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.splitinfer.core.channel.PilotSequence;
import io.splitinfer.core.cli.FlagDefaults;
import io.splitinfer.core.cli.HostPort;
import io.splitinfer.core.security.TlsFlags;
import io.splitinfer.model.engine.EngineKind;
import io.splitinfer.model.ppl.Perplexity;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.Pilot;
import java.nio.file.Path;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Command-line entry point of ue-client. */
@Command(
    name = "ue-client",
    mixinStandardHelpOptions = true,
    version = "ue-client 0.1.0",
    description = "Runs embedding + decoder layers 1..p and talks to an edge server.",
    showDefaultValues = true,
    subcommands = {
      GenerateCommand.class,
      EvalPplCommand.class,
      BenchCommand.class,
      ServeCommand.class,
      SwitchBenchCommand.class,
      ScaleBenchCommand.class,
      SpecBenchCommand.class,
      HopProfileCommand.class
    })
public final class UeClientMain implements Callable<Integer> {
  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 0;
  }

  public static void main(String[] args) {
    System.exit(commandLine(args).execute(args));
  }

  /** The CLI with flag defaults (env, config file) and one-line error reporting. */
  static CommandLine commandLine(String[] args) {
    return CliErrors.install(FlagDefaults.install(new CommandLine(new UeClientMain()), args));
  }

  /** Options every subcommand shares. */
  static final class Common {
    @Option(
        names = "--edge",
        description =
            "Edge server (or channel-sim) HOST:PORT; generate takes a comma-separated list and"
                + " fails over along it.",
        defaultValue = "localhost:50051")
    String edge;

    @Option(
        names = "--model",
        description = "Model package directory (default: the embedded model).")
    Path model;

    @Option(
        names = "--threads",
        description =
            "Engine threads (ONNX Runtime intra-op, 0 = runtime default; vector engine, 0 = 1).",
        defaultValue = "0")
    int threads;

    @Option(
        names = "--engine",
        description =
            "onnx or vector (the Java Vector API engine, f32/f16 packages; needs java --add-modules"
                + " jdk.incubator.vector). The edge must run the same kind.",
        converter = io.splitinfer.model.cli.EngineKindConverter.class,
        defaultValue = "onnx")
    EngineKind engine;

    @Option(
        names = "--wire-dtype",
        description = "Hidden-state dtype on the uplink: f32, f16, bf16, int8.",
        defaultValue = "f32")
    String wireDtype;

    @Option(
        names = "--ue-id",
        description = "UE identity (default: the CN of --tls-cert, else a random id).")
    String ueId;

    @Mixin TlsFlags tls;

    DType dtype() {
      return parseDtype(wireDtype);
    }

    String ueId() {
      if (ueId != null) {
        return ueId;
      }
      return tls.certificateName()
          .orElseGet(() -> "ue-" + UUID.randomUUID().toString().substring(0, 8));
    }
  }

  /** Where split decisions come from: the controller, when one is named. */
  static final class SplitDecisions {
    @Option(
        names = "--controller",
        description = "Controller HOST:PORT: follow its split decisions.")
    String controller;

    @Option(
        names = "--edge-id",
        description = "Edge id for the controller registration.",
        defaultValue = "edge-0")
    String edgeId;

    @Option(
        names = "--fallback-split",
        description =
            "Split to run on while the controller is unreachable (at start, or after it died),"
                + " until it answers; -1 = the middle of the edge's range.",
        defaultValue = "-1")
    int fallbackSplit;
  }

  static DType parseDtype(String s) {
    return switch (s.toLowerCase(Locale.ROOT)) {
      case "f32" -> DType.DTYPE_F32;
      case "f16" -> DType.DTYPE_F16;
      case "bf16" -> DType.DTYPE_BF16;
      case "int8" -> DType.DTYPE_INT8;
      default -> throw new CommandLine.TypeConversionException("unknown dtype " + s);
    };
  }

  /** A channel to the edge, channel-sim or controller with the TLS and token of {@code tls}. */
  static ManagedChannel channel(String hostPort, TlsFlags tls) {
    HostPort a = HostPort.parse(hostPort, "address");
    return NettyChannelBuilder.forAddress(
            a.host(), a.port(), tls.channelCredentials(a.host(), false))
        .directExecutor()
        .maxInboundMessageSize(256 << 20)
        .build();
  }

  static void shutdown(ManagedChannel ch) throws InterruptedException {
    ch.shutdownNow();
    ch.awaitTermination(5, TimeUnit.SECONDS);
  }

  /** Pilots of {@code length} BPSK symbols (core PilotSequence), f32. */
  static PilotSource pilots(int length) {
    return (sessionId, seq) -> {
      long seed = seq * 0x9E3779B97F4A7C15L + sessionId.hashCode();
      return Pilot.newBuilder()
          .setSessionId(sessionId)
          .setSeed(seed)
          .setSequence(seq)
          .setSamples(
              TensorCodec.encode(PilotSequence.values(seed, length), DType.DTYPE_F32, length))
          .build();
    };
  }

  /** The model module's Perplexity scorer, answered through the network. */
  public static Perplexity.Scorer networkScorer(SplitScorer scorer) {
    return window -> {
      float[] lp = scorer.targetLogprobs(window, 0);
      double[] out = new double[lp.length];
      for (int i = 0; i < lp.length; i++) {
        out[i] = lp[i];
      }
      return out;
    };
  }
}
