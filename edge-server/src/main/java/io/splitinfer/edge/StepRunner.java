package io.splitinfer.edge;

import io.splitinfer.core.trace.StepMark;
import io.splitinfer.core.trace.StepMark.Point;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.Logits;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.Scores;
import io.splitinfer.proto.v1.SessionMode;
import io.splitinfer.proto.v1.Token;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
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
  private final Executor prefillPool;
  private final PrefillGate prefills;
  private final EdgeMetrics metrics;
  private final IntFunction<String> tokenText;

  /**
   * @param batcher the decode batcher, or null: every step then runs on the caller's thread
   * @param prefillPool where multi-row steps run when {@code batcher} is set (they wait for their
   *     turn in {@code prefills} there, not on a transport thread)
   */
  StepRunner(
      InferenceEngine engine,
      DecodeBatcher batcher,
      Executor prefillPool,
      PrefillGate prefills,
      EdgeMetrics metrics,
      IntFunction<String> tokenText) {
    this.engine = engine;
    this.mc = engine.config();
    this.batcher = batcher;
    this.prefillPool = prefillPool;
    this.prefills = prefills;
    this.metrics = metrics;
    this.tokenText = tokenText;
  }

  /** Whether steps run off the caller's thread ({@link #submit}): decode batching is on. */
  boolean async() {
    return batcher != null;
  }

  /**
   * Runs {@code x} ([T, hidden]) through the edge's layers on the calling thread (a multi-row step
   * waits for its prefill turn first); the reply (Scores, Token) or null when the UE asked for no
   * sample.
   */
  EdgeMessage run(SessionState s, HiddenState h, float[] x, String client)
      throws InterruptedException {
    int tokens = x.length / mc.hiddenSize();
    long t0 = System.nanoTime();
    float[] y;
    if (tokens > 1) {
      try (PrefillGate.Permit p = prefills.enter(client)) {
        y = engine.runLayers(s.split + 1, mc.numLayers(), x, tokens, s.cache);
      }
    } else {
      StepMark.at(Point.EDGE_COMPUTE_BEGIN);
      y = engine.runLayers(s.split + 1, mc.numLayers(), x, tokens, s.cache);
      StepMark.at(Point.EDGE_LAYERS_END);
    }
    return reply(s, h, y, null, t0);
  }

  /**
   * Hands the step {@code x} off the caller's thread: one row to the decode batcher, several to the
   * prefill pool (after their turn at the prefill gate). The future completes on that thread with
   * the edge's output, to be turned into the reply by {@link #reply} under the session's lock; the
   * session must not touch its cache until then.
   */
  CompletableFuture<DecodeBatcher.Step> submit(
      SessionState s, HiddenState h, float[] x, String client) {
    int tokens = x.length / mc.hiddenSize();
    int from = s.split + 1;
    KvCache cache = s.cache;
    if (tokens == 1) {
      boolean logits = s.mode == SessionMode.SESSION_MODE_SCORE || h.getSample();
      return batcher.submit(from, mc.numLayers(), x, cache, logits);
    }
    return CompletableFuture.supplyAsync(
        () -> {
          try (PrefillGate.Permit p = prefills.enter(client)) {
            return new DecodeBatcher.Step(
                engine.runLayers(from, mc.numLayers(), x, tokens, cache), null);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CompletionException(e);
          }
        },
        prefillPool);
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
    StepMark.at(Point.EDGE_HEAD_END);
    Sampler.Sample sample = s.sampler.sample(lastLogits, 0, mc.vocabSize());
    StepMark.at(Point.EDGE_SAMPLED);
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
