package io.splitinfer.controller.cli;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.splitinfer.proto.v1.GetPolicyRequest;
import io.splitinfer.proto.v1.GetSplitRequest;
import io.splitinfer.proto.v1.OverrideRequest;
import io.splitinfer.proto.v1.SetPolicyRequest;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.WatchSplitRequest;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
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
      OperatorCli.Watch.class
    })
final class OperatorCli implements Callable<Integer> {
  @Override
  public Integer call() {
    picocli.CommandLine.usage(this, System.out);
    return 0;
  }

  abstract static class Base implements Callable<Integer> {
    @Option(
        names = "--target",
        description = "controller HOST:PORT",
        defaultValue = "localhost:50053")
    String target;

    abstract void run(SplitControllerGrpc.SplitControllerBlockingStub stub);

    @Override
    public Integer call() throws Exception {
      ManagedChannel ch = ManagedChannelBuilder.forTarget(target).usePlaintext().build();
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

    @Option(names = "--checkpoint", defaultValue = "")
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
}
