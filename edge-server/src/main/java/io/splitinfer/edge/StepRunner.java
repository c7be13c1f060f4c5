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
import java.util.concurrent.CompletableFuture;
import java.util.function.IntFunction;

/**
 * The edge's compute for one checked HiddenState: layers split+1..L with the session's cache (on
 * the caller's thread, or for single-row steps when batching is on, handed to the {@link
 * DecodeBatcher}, which also runs their head), then the head, and either the SCORE answer (target
 * log-probabilities by {@link Logits}) or a sampled Token. It advances the session's position and
 * token count; it does not validate input, touch the KV budget or send anything, and the caller
 * decides when the session is done.
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

  /** Whether a step of {@code tokens} rows goes through the decode batcher ({@link #submit}). */
  boolean batched(int tokens) {
    return tokens == 1 && batcher != null;
  }

  /**
   * Runs {@code x} ([T, hidden]) through the edge's layers on the calling thread; the reply
   * (Scores, Token) or null when the UE asked for no sample.
   */
  EdgeMessage run(SessionState s, HiddenState h, float[] x) {
    int tokens = x.length / mc.hiddenSize();
    long t0 = System.nanoTime();
    float[] y = engine.runLayers(s.split + 1, mc.numLayers(), x, tokens, s.cache);
    return reply(s, h, y, null, t0);
  }

  /**
   * Queues the one-row step {@code x} with the decode batcher; the future completes on the
   * batcher's thread with the edge's output, to be turned into the reply by {@link #reply} under
   * the session's lock. The session must not touch its cache until then.
   */
  CompletableFuture<DecodeBatcher.Step> submit(SessionState s, HiddenState h, float[] x) {
    boolean logits = s.mode == SessionMode.SESSION_MODE_SCORE || h.getSample();
    return batcher.submit(s.split + 1, mc.numLayers(), x, s.cache, logits);
  }

  /**
   * The reply to a step whose layers ran ({@code y} [T, hidden]; {@code logits} of the rows when
   * the batcher computed them, else null): advances the session's position and token count.
   */
  EdgeMessage reply(SessionState s, HiddenState h, float[] y, float[] logits, long t0) {
    int d = mc.hiddenSize();
    int tokens = y.length / d;
    long position = s.nextPosition;
    s.nextPosition += tokens;
    if (s.mode == SessionMode.SESSION_MODE_SCORE) {
      EdgeMessage m =
          score(s, h, logits != null ? logits : engine.head(y, tokens), tokens, position);
      metrics.step(tokens == 1, System.nanoTime() - t0);
      return m;
    }
    if (!h.getSample()) {
      metrics.step(false, System.nanoTime() - t0);
      return null;
    }
    float[] last = y.length == d ? y : Arrays.copyOfRange(y, (tokens - 1) * d, tokens * d);
    float[] lastLogits = logits != null && tokens == 1 ? logits : engine.head(last, 1);
    Sampler.Sample sample = s.sampler.sample(lastLogits, 0, mc.vocabSize());
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

  private EdgeMessage score(
      SessionState s, HiddenState h, float[] logits, int tokens, long position) {
    int vocab = mc.vocabSize();
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
