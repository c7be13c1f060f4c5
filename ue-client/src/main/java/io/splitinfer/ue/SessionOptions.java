package io.splitinfer.ue;

import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.SamplingParams;
import io.splitinfer.proto.v1.SessionMode;

/**
 * What a {@link UeSession} is opened with.
 *
 * @param mode GENERATE (the edge samples) or SCORE (the edge returns target log-probabilities)
 * @param ueId UE identity
 * @param wire dtype of hidden states on the uplink
 * @param sampling edge-side sampling (GENERATE)
 * @param maxNewTokens tokens to generate, 0 = the edge's cap (GENERATE)
 * @param stopAtEos the edge ends the session at EOS (GENERATE)
 */
public record SessionOptions(
    SessionMode mode,
    String ueId,
    DType wire,
    SamplingParams sampling,
    int maxNewTokens,
    boolean stopAtEos) {
  public static SessionOptions score(String ueId, DType wire) {
    return new SessionOptions(
        SessionMode.SESSION_MODE_SCORE, ueId, wire, SamplingParams.getDefaultInstance(), 0, false);
  }

  public static SessionOptions generate(GenerateRequest req) {
    return new SessionOptions(
        SessionMode.SESSION_MODE_GENERATE,
        req.ueId(),
        req.wireDtype(),
        req.sampling(),
        req.maxNewTokens(),
        req.stopAtEos());
  }

  /** The same session asking for {@code n} new tokens (a resumed generation's remainder). */
  public SessionOptions withMaxNewTokens(int n) {
    return new SessionOptions(mode, ueId, wire, sampling, n, stopAtEos);
  }
}
