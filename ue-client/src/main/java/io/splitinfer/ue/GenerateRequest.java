package io.splitinfer.ue;

import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.SamplingParams;

/**
 * One generation through the split.
 *
 * @param promptIds prompt token ids (at least one)
 * @param maxNewTokens tokens to generate (the edge may clamp)
 * @param sampling edge-side sampling (temperature 0 = greedy)
 * @param wireDtype dtype of the hidden states on the uplink
 * @param stopAtEos stop when the end-of-sequence token is sampled
 * @param ueId UE identity for the edge and the controller
 * @param pilotEvery send a Pilot every this many decode steps (0 = never)
 */
public record GenerateRequest(
    int[] promptIds,
    int maxNewTokens,
    SamplingParams sampling,
    DType wireDtype,
    boolean stopAtEos,
    String ueId,
    int pilotEvery) {
  public GenerateRequest {
    if (promptIds == null || promptIds.length == 0) {
      throw new IllegalArgumentException("prompt must have at least one token");
    }
    if (maxNewTokens < 1) {
      throw new IllegalArgumentException("maxNewTokens must be >= 1");
    }
  }

  /** Greedy, f32 on the wire, no EOS stop. */
  public static GenerateRequest greedy(int[] promptIds, int maxNewTokens) {
    return new GenerateRequest(
        promptIds,
        maxNewTokens,
        SamplingParams.getDefaultInstance(),
        DType.DTYPE_F32,
        false,
        "ue",
        0);
  }

  public GenerateRequest withSampling(SamplingParams p) {
    return new GenerateRequest(promptIds, maxNewTokens, p, wireDtype, stopAtEos, ueId, pilotEvery);
  }

  public GenerateRequest withWireDtype(DType d) {
    return new GenerateRequest(promptIds, maxNewTokens, sampling, d, stopAtEos, ueId, pilotEvery);
  }

  public GenerateRequest withStopAtEos(boolean stop) {
    return new GenerateRequest(
        promptIds, maxNewTokens, sampling, wireDtype, stop, ueId, pilotEvery);
  }

  public GenerateRequest withUeId(String id) {
    return new GenerateRequest(
        promptIds, maxNewTokens, sampling, wireDtype, stopAtEos, id, pilotEvery);
  }

  public GenerateRequest withPilotEvery(int n) {
    return new GenerateRequest(promptIds, maxNewTokens, sampling, wireDtype, stopAtEos, ueId, n);
  }
}
