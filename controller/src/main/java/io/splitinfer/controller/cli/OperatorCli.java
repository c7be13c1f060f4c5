package io.splitinfer.controller.cli;

import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.splitinfer.core.cli.HostPort;
import io.splitinfer.core.security.TlsFlags;
import io.splitinfer.proto.v1.ChannelReport;
import io.splitinfer.proto.v1.ChannelReportSource;
import io.splitinfer.proto.v1.GetFloorRequest;
import io.splitinfer.proto.v1.GetPolicyRequest;
import io.splitinfer.proto.v1.GetSplitRequest;
import io.splitinfer.proto.v1.OverrideRequest;
import io.splitinfer.proto.v1.SetFloorRequest;
import io.splitinfer.proto.v1.SetPolicyRequest;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.WatchSplitRequest;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code controller cli ...}: the operator client. */
@Command(
    name = "cli",
    aliases = "controller-cli",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = "Operator client of a running controller.",
    subcommands = {
      OperatorCli.Get.class,
      OperatorCli.Set.class,
      OperatorCli.Unpin.class,
      OperatorCli.Policy.class,
      OperatorCli.Watch.class,
      OperatorCli.Report.class,
      OperatorCli.Floor.class,
      PoolCli.class
    })
final class OperatorCli implements Callable<Integer> {
  @Override
  public Integer call() {
    picocli.CommandLine.usage(this, System.out);
    return 0;
  }

  abstract static class Base implements Callable<Integer> {
    /** Prefix of an in-process server name as a target (tests, embedding). */
    static final String IN_PROCESS = "in-process:";

    @Option(
        names = "--target",
        description = "controller HOST:PORT (or in-process:NAME)",
        defaultValue = "localhost:50053")
    String target;

    @Mixin TlsFlags tls;

    abstract void run(SplitControllerGrpc.SplitControllerBlockingStub stub);

    ManagedChannel open() {
      return target.startsWith(IN_PROCESS)
          ? InProcessChannelBuilder.forName(target.substring(IN_PROCESS.length())).build()
          : Grpc.newChannelBuilder(
                  target, tls.channelCredentials(HostPort.parse(target, "--target").host(), false))
              .build();
    }

    @Override
    public Integer call() throws Exception {
      ManagedChannel ch = open();
      try {
        run(
            SplitControllerGrpc.newBlockingStub(ch)
                .withWaitForReady()
                .withDeadlineAfter(30, TimeUnit.SECONDS));
        return 0;
      } catch (StatusRuntimeException e) {
        System.err.println(
            "error: " + e.getStatus().getCode() + ": " + e.getStatus().getDescription());
        return 2;
      } finally {
        ch.shutdownNow();
      }
    }
  }

  @Command(name = "get", mixinStandardHelpOptions = true, description = "Current split of a UE.")
  static final class Get extends Base {
    @Option(names = "--ue", required = true)
    String ue;

    @Override
    void run(SplitControllerGrpc.SplitControllerBlockingStub stub) {
      System.out.print(stub.getSplit(GetSplitRequest.newBuilder().setUeId(ue).build()));
      System.out.println(
          PoolCli.placementLine(
              stub.getPool(
                  io.splitinfer.proto.v1.GetPoolRequest.newBuilder().setUeId(ue).build())));
    }
  }

  @Command(
      name = "set",
      aliases = "pin",
      mixinStandardHelpOptions = true,
      description = "Pin a UE's split until unpinned.")
  static final class Set extends Base {
    @Option(names = "--ue", required = true)
    String ue;

    @Option(names = "--split", required = true)
    int split;

    @Override
    void run(SplitControllerGrpc.SplitControllerBlockingStub stub) {
      System.out.print(
          stub.override(
              OverrideRequest.newBuilder().setUeId(ue).setPin(true).setSplit(split).build()));
    }
  }

  @Command(
      name = "unpin",
      mixinStandardHelpOptions = true,
      description = "Return a UE to the policy.")
  static final class Unpin extends Base {
    @Option(names = "--ue", required = true)
    String ue;

    @Override
    void run(SplitControllerGrpc.SplitControllerBlockingStub stub) {
      System.out.print(
          stub.override(OverrideRequest.newBuilder().setUeId(ue).setPin(false).build()));
    }
  }

  @Command(
      name = "policy",
      mixinStandardHelpOptions = true,
      description = "Show or switch the policy.")
  static final class Policy extends Base {
    @Option(names = "--set", description = "ppo, fixed, random, oracle", defaultValue = "")
    String set;

    @Option(
        names = "--checkpoint",
        defaultValue = "",
        description = "NAME of a checkpoint the controller was started with (--checkpoint-named)")
    String checkpoint;

    @Override
    void run(SplitControllerGrpc.SplitControllerBlockingStub stub) {
      System.out.print(
          set.isEmpty()
              ? stub.getPolicy(GetPolicyRequest.getDefaultInstance())
              : stub.setPolicy(
                  SetPolicyRequest.newBuilder().setPolicy(set).setCheckpoint(checkpoint).build()));
    }
  }

  @Command(
      name = "watch",
      mixinStandardHelpOptions = true,
      description = "Stream a UE's decisions.")
  static final class Watch extends Base {
    @Option(names = "--ue", defaultValue = "")
    String ue;

    @Option(names = "--edge", defaultValue = "")
    String edge;

    @Override
    void run(SplitControllerGrpc.SplitControllerBlockingStub stub) {
      SplitControllerGrpc.SplitControllerBlockingStub s = stub.withDeadline(null);
      s.watchSplit(WatchSplitRequest.newBuilder().setUeId(ue).setEdgeId(edge).build())
          .forEachRemaining(d -> System.out.println(d.toString().replace('\n', ' ')));
    }
  }

  @Command(
      name = "report",
      mixinStandardHelpOptions = true,
      showDefaultValues = true,
      description = {
        "Declare a UE's channel state (ReportChannel without evidence), as a UE, an edge or"
            + " channel-sim would. It replaces the state in force when its source drives the"
            + " controller (--channel-source: ue/edge under estimate, channel-sim under"
            + " channel-sim); otherwise it is counted and ignored. The policy is evaluated at once.",
        "--loss 0 with --sigma-h > 0: the controller derives the loss probability from σ_h"
            + " (eq. 4, stated at h_th = 1). --ue= (empty) declares it for every UE."
      })
  static final class Report extends Base {
    @Option(names = "--ue", required = true, description = "UE id (empty: every UE)")
    String ue;

    @Option(
        names = "--sigma",
        required = true,
        description = "noise std σ (hidden-state units of the model)")
    double sigma;

    @Option(names = "--loss", defaultValue = "0", description = "packet-loss probability P")
    double loss;

    @Option(names = "--sigma-h", defaultValue = "0", description = "fading scale σ_h (optional)")
    double sigmaH;

    @Option(names = "--snr-db", defaultValue = "0", description = "SNR in dB (informational)")
    double snrDb;

    @Option(
        names = "--source",
        defaultValue = "ue",
        description = "ue, edge (pilot estimate) or channel-sim (ground truth)")
    String source;

    /** The proto source for a {@code --source} value. */
    static ChannelReportSource source(String s) {
      return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
        case "ue" -> ChannelReportSource.CHANNEL_REPORT_SOURCE_UE;
        case "edge", "edge-pilot" -> ChannelReportSource.CHANNEL_REPORT_SOURCE_EDGE_PILOT;
        case "channel-sim", "sim" -> ChannelReportSource.CHANNEL_REPORT_SOURCE_CHANNEL_SIM;
        default ->
            throw new IllegalArgumentException(
                "--source must be ue, edge or channel-sim, not '" + s + "'");
      };
    }

    @Override
    public Integer call() throws Exception {
      try {
        source(source);
      } catch (IllegalArgumentException e) {
        System.err.println("error: " + e.getMessage());
        return 2;
      }
      return super.call();
    }

    @Override
    void run(SplitControllerGrpc.SplitControllerBlockingStub stub) {
      ChannelReport req =
          ChannelReport.newBuilder()
              .setUeId(ue)
              .setSource(source(source))
              .setSigma(sigma)
              .setSigmaH(sigmaH)
              .setLossRate(loss)
              .setSnrDb(snrDb)
              .setObservedAtUnixMs(System.currentTimeMillis())
              .setSamples(1)
              .build();
      long epoch = stub.reportChannel(req).getEpoch();
      System.out.printf(
          java.util.Locale.ROOT,
          "reported σ=%s loss=%s σ_h=%s for %s (%s): epoch %d%n",
          sigma,
          loss,
          sigmaH,
          ue.isBlank() ? "every UE" : "UE " + ue,
          req.getSource().name(),
          epoch);
    }
  }

  @Command(
      name = "floor",
      mixinStandardHelpOptions = true,
      description = "Privacy floor: the smallest split the policy may give a UE.",
      subcommands = {OperatorCli.FloorSet.class, OperatorCli.FloorShow.class})
  static final class Floor implements Callable<Integer> {
    @Override
    public Integer call() {
      picocli.CommandLine.usage(this, System.out);
      return 0;
    }
  }

  @Command(
      name = "set",
      mixinStandardHelpOptions = true,
      showDefaultValues = true,
      description = {
        "Set the operator's privacy floor of a UE (--ue) or the default of every UE (no --ue).",
        "Either --min-split p, or --max-recovery r (0..1): the smallest split whose measured token"
            + " recovery (95% upper bound, `model privacy`) is <= r at it and every later split.",
        "UEs below the new floor move up at once (reason DECISION_REASON_PRIVACY_FLOOR)."
      })
  static final class FloorSet extends Base {
    @Option(names = "--ue", defaultValue = "", description = "UE id (empty: the default)")
    String ue;

    @Option(names = "--min-split", defaultValue = "0", description = "floor p (0: none)")
    int minSplit;

    @Option(names = "--max-recovery", description = "max token recovery rate accepted, 0..1")
    Double maxRecovery;

    @Override
    void run(SplitControllerGrpc.SplitControllerBlockingStub stub) {
      SetFloorRequest.Builder b = SetFloorRequest.newBuilder().setUeId(ue).setMinSplit(minSplit);
      if (maxRecovery != null) {
        b.setMaxRecovery(maxRecovery);
      }
      System.out.print(stub.setFloor(b.build()));
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Show the privacy floor in force for a UE (--ue) or the default.")
  static final class FloorShow extends Base {
    @Option(names = "--ue", defaultValue = "", description = "UE id (empty: the default)")
    String ue;

    @Override
    void run(SplitControllerGrpc.SplitControllerBlockingStub stub) {
      System.out.print(stub.getFloor(GetFloorRequest.newBuilder().setUeId(ue).build()));
    }
  }
}
