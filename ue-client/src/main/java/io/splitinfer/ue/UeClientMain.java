package io.splitinfer.ue;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.splitinfer.core.channel.PilotSequence;
import io.splitinfer.core.cli.FlagDefaults;
import io.splitinfer.core.cli.HostPort;
import io.splitinfer.model.ppl.Perplexity;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.Pilot;
import io.splitinfer.proto.v1.SamplingParams;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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
      UeClientMain.Generate.class,
      EvalPplCommand.class,
      BenchCommand.class,
      SwitchBenchCommand.class
    })
public final class UeClientMain implements Callable<Integer> {
  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 0;
  }

  public static void main(String[] args) {
    System.exit(FlagDefaults.install(new CommandLine(new UeClientMain()), args).execute(args));
  }

  /** Options every subcommand shares. */
  static final class Common {
    @Option(
        names = "--edge",
        description = "Edge server (or channel-sim) HOST:PORT.",
        defaultValue = "localhost:50051")
    String edge;

    @Option(
        names = "--model",
        description = "Model package directory (default: the embedded model).")
    Path model;

    @Option(
        names = "--threads",
        description = "ONNX Runtime intra-op threads (0 = runtime default).",
        defaultValue = "0")
    int threads;

    @Option(
        names = "--wire-dtype",
        description = "Hidden-state dtype on the uplink: f32, f16, bf16, int8.",
        defaultValue = "f32")
    String wireDtype;

    @Option(names = "--ue-id", description = "UE identity (default: a random id).")
    String ueId;

    DType dtype() {
      return parseDtype(wireDtype);
    }

    String ueId() {
      return ueId != null ? ueId : "ue-" + UUID.randomUUID().toString().substring(0, 8);
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

  static ManagedChannel channel(String hostPort) {
    HostPort a = HostPort.parse(hostPort, "address");
    return NettyChannelBuilder.forAddress(a.host(), a.port())
        .usePlaintext()
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

  @Command(
      name = "generate",
      mixinStandardHelpOptions = true,
      showDefaultValues = true,
      description = "Generates text through the split and prints a summary.")
  static final class Generate implements Callable<Integer> {
    @Mixin Common common;

    @Option(names = "--prompt", required = true, description = "Prompt text (or ids:1,2,3).")
    String prompt;

    @Option(
        names = "--split",
        description = "Fixed split p (UE runs layers 1..p); default L/2.",
        defaultValue = "-1")
    int split;

    @Mixin SplitDecisions decisions;

    @Option(names = "--max-tokens", defaultValue = "64", description = "Tokens to generate.")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy.")
    float temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "0 = off.")
    int topK;

    @Option(names = "--top-p", defaultValue = "0", description = "0 or 1 = off.")
    float topP;

    @Option(names = "--seed", defaultValue = "0", description = "Sampler seed.")
    long seed;

    @Option(
        names = "--stop-at-eos",
        defaultValue = "true",
        negatable = true,
        description = "Stop at EOS.")
    boolean stopAtEos;

    @Option(
        names = "--pilot-every",
        defaultValue = "0",
        description = "Send a pilot every N decode steps (0 = never).")
    int pilotEvery;

    @Option(
        names = "--pilot-length",
        defaultValue = "1024",
        description = "Pilot symbols per pilot.")
    int pilotLength;

    @Override
    public Integer call() throws Exception {
      PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
      ManagedChannel edge = channel(common.edge);
      ManagedChannel ctl = decisions.controller == null ? null : channel(decisions.controller);
      try (LoadedModel m = LoadedModel.open(common.model, common.threads)) {
        UeClient client = new UeClient(edge, m.ueModel(), pilots(pilotLength));
        ModelInfo info = client.modelInfo();
        String ueId = common.ueId();
        int[] ids = m.encode(prompt);
        GenerateRequest req =
            new GenerateRequest(
                ids,
                maxTokens,
                SamplingParams.newBuilder()
                    .setTemperature(temperature)
                    .setTopK(topK)
                    .setTopP(topP)
                    .setSeed(seed)
                    .build(),
                common.dtype(),
                stopAtEos,
                ueId,
                pilotEvery);
        SplitSource source;
        ControllerSplitSource watched = null;
        if (ctl != null) {
          watched = ControllerSplitSource.start(ctl, ueId, decisions.edgeId, info);
          source = watched;
        } else {
          source = SplitSource.fixed(split >= 0 ? split : info.getNumLayers() / 2);
        }
        GenerationResult r;
        try {
          r = client.generator().generate(req, source, t -> out.print(t.getText()));
        } finally {
          if (watched != null) {
            watched.close();
          }
        }
        out.println();
        out.printf(
            Locale.ROOT,
            "--%n tokens %d (%s) | TTFT %.1f ms | decode %.2f tokens/s | sent %d bytes%n",
            r.tokenIds().length,
            r.doneReason(),
            r.timeToFirstTokenNanos() / 1e6,
            r.decodeTokensPerSecond(),
            r.bytesSent());
        out.printf(
            Locale.ROOT,
            " bytes/decode step %.1f vs floor %d (hidden %d x %d B): framing +%.2f%%%n",
            r.bytesPerDecodeStep(),
            r.floorBytesPerStep(),
            info.getHiddenSize(),
            TensorCodec.bytesPerElement(common.dtype()),
            r.framingOverheadPercent());
        out.println(
            " splits "
                + r.splits().stream().map(s -> "p=" + s.split() + "@step" + s.step()).toList());
        if (!r.estimates().isEmpty()) {
          var e = r.estimates().get(r.estimates().size() - 1);
          out.printf(
              Locale.ROOT,
              " channel estimate: sigma %.4f sigma_h %.4f loss %.4f SNR %.1f dB (%d pilots)%n",
              e.getSigma(),
              e.getSigmaH(),
              e.getLossRate(),
              e.getSnrDb(),
              e.getPilots());
        }
        return 0;
      } finally {
        shutdown(edge);
        if (ctl != null) {
          shutdown(ctl);
        }
      }
    }
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
