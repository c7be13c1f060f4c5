package io.splitinfer.edge;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.Logits;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.Scores;
import io.splitinfer.proto.v1.SessionMode;
import io.splitinfer.proto.v1.Token;
import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * The edge's compute for one checked HiddenState: layers split+1..L with the session's cache
 * (through the {@link DecodeBatcher} for single-row steps when batching is on), then the head, and
 * either the SCORE answer (target log-probabilities by {@link Logits}) or a sampled Token. It
 * advances the session's position and token count; it does not validate input, touch the KV budget
 * or send anything, and the caller decides when the session is done.
 */
final class StepRunner {
  private final InferenceEngine engine;
  private final ModelConfig mc;
  private final DecodeBatcher batcher;
  private final EdgeMetrics metrics;
  private final IntFunction<String> tokenText;

  StepRunner(
      InferenceEngine engine,
      DecodeBatcher batcher,
      EdgeMetrics metrics,
      IntFunction<String> tokenText) {
    this.engine = engine;
    this.mc = engine.config();
    this.batcher = batcher;
    this.metrics = metrics;
    this.tokenText = tokenText;
  }

  /**
   * Runs {@code x} ([T, hidden]) through the edge's layers; the reply (Scores, Token) or null when
   * the UE asked for no sample.
   */
  EdgeMessage run(SessionState s, HiddenState h, float[] x) throws InterruptedException {
    int d = mc.hiddenSize();
    int tokens = x.length / d;
    long t0 = System.nanoTime();
    int from = s.split + 1;
    int to = mc.numLayers();
    float[] y;
    if (tokens == 1 && batcher != null && from <= to) {
      y = batcher.run(from, to, x, s.cache);
    } else {
      y = engine.runLayers(from, to, x, tokens, s.cache);
    }
    long position = s.nextPosition;
    s.nextPosition += tokens;
    if (s.mode == SessionMode.SESSION_MODE_SCORE) {
      EdgeMessage m = score(s, h, y, tokens, position);
      metrics.step(tokens == 1, System.nanoTime() - t0);
      return m;
    }
    if (!h.getSample()) {
      metrics.step(false, System.nanoTime() - t0);
      return null;
    }
    float[] last = y.length == d ? y : Arrays.copyOfRange(y, (tokens - 1) * d, tokens * d);
    Sampler.Sample sample = s.sampler.sample(engine.head(last, 1), 0, mc.vocabSize());
    metrics.step(tokens == 1, System.nanoTime() - t0);
    s.generated++;
    metrics.token();
    return EdgeMessage.newBuilder()
        .setToken(
            Token.newBuilder()
                .setId(sample.id())
                .setText(tokenText.apply(sample.id()))
                .setLogprob(sample.logprob())
                .setPosition(s.nextPosition)
                .setEpoch(s.epoch)
                .setStep(h.getStep())
                .setEos(sample.id() == mc.eosTokenId()))
        .build();
  }

  private EdgeMessage score(SessionState s, HiddenState h, float[] y, int tokens, long position) {
    int vocab = mc.vocabSize();
    float[] logits = engine.head(y, tokens);
    Scores.Builder sb = Scores.newBuilder().setFirstPosition(position).setEpoch(s.epoch);
    int scored = 0;
    for (int r = 0; r < tokens; r++) {
      int target = h.getTargetIds(r);
      if (target < 0) {
        sb.addTargetLogprobs(Float.NaN);
      } else {
        sb.addTargetLogprobs((float) Logits.logProb(logits, r * vocab, vocab, target));
        scored++;
      }
    }
    metrics.scored(scored);
    return EdgeMessage.newBuilder().setScores(sb).build();
  }
}
