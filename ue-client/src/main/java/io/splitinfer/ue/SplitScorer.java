package io.splitinfer.ue;

import io.grpc.Channel;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.proto.v1.ChannelEstimate;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.SamplingParams;
import io.splitinfer.proto.v1.Scores;
import io.splitinfer.proto.v1.SessionMode;
import io.splitinfer.proto.v1.SessionOpen;
import io.splitinfer.proto.v1.UeMessage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;

/**
 * Teacher-forced scoring through the split (SCORE mode): the UE runs layers 1..p over a token
 * window and the edge returns log P(token[i+1] | token[..i]) for each position. This is what
 * perplexity (eq. 6) through the real network path is built from.
 */
public final class SplitScorer {
  private final Channel channel;
  private final UeModel model;
  private final InferenceEngine engine;
  private final int split;
  private final DType wire;
  private final String ueId;
  private long bytesSent;

  SplitScorer(Channel channel, UeModel model, int split, DType wire, String ueId) {
    this.channel = channel;
    this.model = model;
    this.engine = model.engine();
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
    String sessionId = UUID.randomUUID().toString();
    List<ChannelEstimate> estimates = new ArrayList<>();
    try (SessionStream s = new SessionStream(channel);
        KvCache cache = engine.newCache(1, split)) {
      s.send(
          UeMessage.newBuilder()
              .setOpen(
                  SessionOpen.newBuilder()
                      .setSessionId(sessionId)
                      .setUeId(ueId)
                      .setModelId(model.modelId())
                      .setModelSha256(model.sha256())
                      .setMode(SessionMode.SESSION_MODE_SCORE)
                      .setSampling(SamplingParams.getDefaultInstance())
                      .setSplit(split)
                      .setWireDtype(wire))
              .build());
      EdgeMessage acc = SplitGenerator.expect(s, EdgeMessage.KindCase.ACCEPTED, estimates);
      ModelInfo info = acc.getAccepted().getModel();
      int chunk = Math.max(1, info.getMaxChunkTokens());
      int inputs = n - 1;
      float[] out = new float[n - 1 - firstScored];
      int sent = 0;
      int chunks = 0;
      for (int from = 0; from < inputs; from += chunk) {
        int to = Math.min(inputs, from + chunk);
        int t = to - from;
        float[] h = engine.embed(Arrays.copyOfRange(tokens, from, to));
        h = engine.runLayers(1, split, h, t, cache);
        HiddenState.Builder hb =
            SplitGenerator.hidden(sessionId, 0, split, from, h, t, wire, false, 0)
                .getHidden()
                .toBuilder();
        for (int i = from; i < to; i++) {
          hb.addTargetIds(i >= firstScored ? tokens[i + 1] : -1);
        }
        s.send(UeMessage.newBuilder().setHidden(hb).build());
        sent += t;
        chunks++;
      }
      for (int c = 0; c < chunks; c++) {
        Scores sc = SplitGenerator.expect(s, EdgeMessage.KindCase.SCORES, estimates).getScores();
        int pos = (int) sc.getFirstPosition();
        for (int r = 0; r < sc.getTargetLogprobsCount(); r++) {
          int i = pos + r;
          if (i >= firstScored) {
            out[i - firstScored] = sc.getTargetLogprobs(r);
          }
        }
      }
      s.send(SplitGenerator.close(sessionId));
      SplitGenerator.expect(s, EdgeMessage.KindCase.DONE, estimates);
      s.take();
      bytesSent += s.bytesSent();
      if (sent != inputs) {
        throw new IllegalStateException("sent " + sent + " of " + inputs + " positions");
      }
      return out;
    }
  }
}
