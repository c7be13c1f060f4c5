package io.splitinfer.ue;

import io.grpc.Channel;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.Scores;
import java.util.Arrays;

/**
 * Teacher-forced scoring through the split at a fixed split (SCORE mode): the UE runs layers 1..p
 * over a token window and the edge returns log P(token[i+1] | token[..i]) for each position. This
 * is what perplexity (eq. 6) through the real network path is built from. All chunks of a window
 * are sent before the scores are read (pipelined); the protocol is {@link UeSession}'s, and {@link
 * StepScorer} is the step-by-step variant that follows live split switches.
 */
public final class SplitScorer {
  private final Channel channel;
  private final UeModel model;
  private final int split;
  private final DType wire;
  private final String ueId;
  private long bytesSent;

  SplitScorer(Channel channel, UeModel model, int split, DType wire, String ueId) {
    this.channel = channel;
    this.model = model;
    this.split = split;
    this.wire = wire;
    this.ueId = ueId;
  }

  public int split() {
    return split;
  }

  /** Bytes sent by all scoring sessions so far (protobuf + gRPC framing). */
  public long bytesSent() {
    return bytesSent;
  }

  /**
   * Log-probabilities of {@code tokens[i + 1]} given {@code tokens[0..i]} for i in [firstScored,
   * n-2]; entry j of the result is for target {@code tokens[firstScored + 1 + j]}.
   */
  public float[] targetLogprobs(int[] tokens, int firstScored) {
    int n = tokens.length;
    if (n < 2) {
      return new float[0];
    }
    if (firstScored < 0 || firstScored > n - 2) {
      throw new IllegalArgumentException(
          "firstScored " + firstScored + " outside [0, " + (n - 2) + "]");
    }
    try (UeSession s =
        UeSession.open(
            channel,
            model,
            SessionOptions.score(ueId, wire),
            SplitSource.fixed(split).current(0))) {
      int chunk = s.maxChunk();
      int inputs = n - 1;
      float[] out = new float[n - 1 - firstScored];
      int chunks = 0;
      for (int from = 0; from < inputs; from += chunk) {
        int to = Math.min(inputs, from + chunk);
        int[] targets = new int[to - from];
        for (int i = from; i < to; i++) {
          targets[i - from] = i >= firstScored ? tokens[i + 1] : -1;
        }
        s.send(Arrays.copyOfRange(tokens, from, to), targets, false, 0);
        chunks++;
      }
      for (int c = 0; c < chunks; c++) {
        Scores sc = s.nextScores();
        int pos = (int) sc.getFirstPosition();
        for (int r = 0; r < sc.getTargetLogprobsCount(); r++) {
          int i = pos + r;
          if (i >= firstScored) {
            out[i - firstScored] = sc.getTargetLogprobs(r);
          }
        }
      }
      s.finish();
      bytesSent += s.bytesSent();
      return out;
    }
  }
}
