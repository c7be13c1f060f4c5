package io.splitinfer.ue;

import io.grpc.Channel;
import io.grpc.StatusRuntimeException;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.GetModelInfoRequest;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.SplitInferenceGrpc;
import java.util.List;

/**
 * The UE's client of edge servers over any gRPC {@link Channel}s (direct, through channel-sim, or
 * in-process). Generation may fail over between the edges of its list ({@link EdgeFailover});
 * scoring uses the first. The caller owns the channels and the engine.
 */
public final class UeClient {
  private final List<? extends Channel> edges;
  private final Channel channel;
  private final UeModel model;
  private final PilotSource pilots;
  private final EdgeFailover.Policy failover;

  public UeClient(Channel channel, UeModel model) {
    this(channel, model, null);
  }

  /** One edge, no failover. */
  public UeClient(Channel channel, UeModel model, PilotSource pilots) {
    this(List.of(channel), model, pilots, EdgeFailover.Policy.none());
  }

  /** Edges in order of preference; a generation whose session dies resumes per {@code failover}. */
  public UeClient(
      List<? extends Channel> edges,
      UeModel model,
      PilotSource pilots,
      EdgeFailover.Policy failover) {
    if (edges.isEmpty()) {
      throw new IllegalArgumentException("at least one edge");
    }
    this.edges = List.copyOf(edges);
    this.channel = edges.get(0);
    this.model = model;
    this.pilots = pilots;
    this.failover = failover;
  }

  /**
   * Which model the edges serve and which splits they accept: the first edge of the list that
   * answers (its error when none does).
   */
  public ModelInfo modelInfo() {
    return modelInfo(edges);
  }

  /** {@link #modelInfo()} of a list of edges, before any model is loaded. */
  public static ModelInfo modelInfo(List<? extends Channel> edges) {
    StatusRuntimeException last = null;
    for (Channel c : edges) {
      try {
        return SplitInferenceGrpc.newBlockingStub(c)
            .getModelInfo(GetModelInfoRequest.getDefaultInstance());
      } catch (StatusRuntimeException e) {
        last = e;
      }
    }
    throw last;
  }

  /** A generator over this client's edges; each carries its own failover state. */
  public SplitGenerator generator() {
    return new SplitGenerator(new EdgeFailover(edges, failover), model, pilots);
  }

  public SplitScorer scorer(int split, DType wireDtype, String ueId) {
    return new SplitScorer(channel, model, split, wireDtype, ueId);
  }

  public UeModel model() {
    return model;
  }
}
