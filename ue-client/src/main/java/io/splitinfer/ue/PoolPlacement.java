package io.splitinfer.ue;

import io.grpc.Channel;
import io.splitinfer.proto.v1.EdgeAssignment;
import io.splitinfer.proto.v1.EdgePlacement;
import io.splitinfer.proto.v1.Registered;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.UeRegistration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The UE's side of the pool of edges (issue 16): asks the controller where to go (RegisterUe with a
 * placement) and turns the answer into the edge list the UE fails over along: the assigned edge
 * first, then the other edges that fit, least loaded first. The controller's refusal (NOT_FOUND for
 * an edge that is not in the pool, FAILED_PRECONDITION when none serves the model, ...) is thrown
 * as it came.
 */
public final class PoolPlacement {
  private PoolPlacement() {}

  /**
   * Registers {@code ueId} for {@code modelId} (its layers; the controller's default split range
   * 1..L-1) and returns where the pool put it.
   *
   * @param edgeId a specific edge, or empty for the least loaded that fits
   */
  public static EdgeAssignment assign(
      Channel controller, String ueId, String modelId, int numLayers, String edgeId) {
    Registered r =
        SplitControllerGrpc.newBlockingStub(controller)
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .registerUe(
                UeRegistration.newBuilder()
                    .setUeId(ueId)
                    .setModelId(modelId)
                    .setNumLayers(numLayers)
                    .setPlacement(EdgePlacement.newBuilder().setEdgeId(edgeId))
                    .build());
    if (!r.hasAssignment()) {
      throw new IllegalStateException("the controller answered without an edge assignment");
    }
    return r.getAssignment();
  }

  /** The addresses to dial, in failover order. */
  public static List<String> addresses(EdgeAssignment a) {
    List<String> out = new ArrayList<>();
    out.add(a.getAddress());
    out.addAll(a.getFallbackAddressesList());
    return out;
  }
}
