package io.splitinfer.controller.cli;

import io.splitinfer.proto.v1.EdgePool;
import io.splitinfer.proto.v1.GetPoolRequest;
import io.splitinfer.proto.v1.PoolEdge;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import java.util.Locale;
import picocli.CommandLine.Command;

/** {@code controller cli pool}: the pool of edges, one line per edge (GetPool). */
@Command(
    name = "pool",
    mixinStandardHelpOptions = true,
    description = "The pool of edges: capacity, last load, placed UEs.")
final class PoolCli extends OperatorCli.Base {
  @Override
  void run(SplitControllerGrpc.SplitControllerBlockingStub stub) {
    EdgePool pool = stub.getPool(GetPoolRequest.getDefaultInstance());
    if (pool.getEdgesCount() == 0) {
      System.out.println("no edges in the pool");
    }
    for (PoolEdge e : pool.getEdgesList()) {
      System.out.println(line(e));
    }
  }

  /** One edge: id, address, model, load against capacity, placed UEs. */
  static String line(PoolEdge e) {
    return String.format(
        Locale.ROOT,
        "%s %s model %s splits %d..%d | sessions %d/%d kv %d/%d B queue %.2f | score %.3f |"
            + " UEs %s",
        e.getEdgeId(),
        e.getAddress(),
        e.getModelId(),
        e.getCapacity().getMinSplit(),
        e.getCapacity().getMaxSplit(),
        e.getLoad().getActiveSessions(),
        e.getCapacity().getMaxSessions(),
        e.getLoad().getKvBytes(),
        e.getCapacity().getKvBudgetBytes(),
        e.getLoad().getDecodeQueue(),
        e.getScore(),
        e.getUeIdsList());
  }

  /** The {@code cli get} line on where a UE is placed. */
  static String placementLine(EdgePool forUe) {
    return forUe.getEdgesCount() == 0
        ? "edge: none (not placed by the pool)"
        : "edge: " + line(forUe.getEdges(0));
  }
}
