package io.splitinfer.ue;

import io.grpc.Channel;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.GetModelInfoRequest;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.SplitInferenceGrpc;

/**
 * The UE's client of an edge server over any gRPC {@link Channel} (direct, through channel-sim, or
 * in-process). The caller owns the channel and the engine.
 */
public final class UeClient {
  private final Channel channel;
  private final UeModel model;
  private final PilotSource pilots;

  public UeClient(Channel channel, UeModel model) {
    this(channel, model, null);
  }

  public UeClient(Channel channel, UeModel model, PilotSource pilots) {
    this.channel = channel;
    this.model = model;
    this.pilots = pilots;
  }

  /** Which model the edge serves and which splits it accepts. */
  public ModelInfo modelInfo() {
    return SplitInferenceGrpc.newBlockingStub(channel)
        .getModelInfo(GetModelInfoRequest.getDefaultInstance());
  }

  public SplitGenerator generator() {
    return new SplitGenerator(channel, model, pilots);
  }

  public SplitScorer scorer(int split, DType wireDtype, String ueId) {
    return new SplitScorer(channel, model, split, wireDtype, ueId);
  }

  public UeModel model() {
    return model;
  }
}
