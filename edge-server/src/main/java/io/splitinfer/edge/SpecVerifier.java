package io.splitinfer.edge;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.Logits;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.Token;
import io.splitinfer.proto.v1.Verified;
import java.util.Arrays;
import java.util.function.IntFunction;

/**
 * The edge's side of speculative decoding across the split: one speculative HiddenState (the last
 * token the UE received and its k drafted tokens, k + 1 rows at layer p, with {@code draft_ids})
 * runs through layers p+1..L and the head in one pass; the drafts are verified in order and the
 * answer is one {@link Verified}: the accepted prefix plus the edge's own next token. The session's
 * KV and next position are then rolled back to the positions whose inputs were accepted ({@code
 * KvCache.truncate}), which the UE mirrors.
 *
 * <p>Verification ({@link #pick}): greedy sessions take the edge's own token (the {@link Sampler},
 * i.e. {@link Logits#argmax}) row by row and stop at the first that differs from the draft, so the
 * output is token for token the non-speculative one. Sampling sessions use the standard speculative
 * sampling rule (Leviathan et al. 2023; Chen et al. 2023) with the session's seeded sampler: draft
 * d with draft probability q(d) is accepted with probability min(1, p(d) / q(d)) where p is the
 * distribution the sampler would draw from (temperature, top-k, top-p); at the first rejection the
 * token is drawn from normalise(max(0, p - q)); when all k are accepted one more is drawn from p of
 * the last row. Each emitted token is then distributed exactly as the non-speculative sampler's.
 * Absent draft_probs means deterministic drafts (q one-hot).
 *
 * <p>Speculative steps run on the caller's thread after their turn at the {@link PrefillGate} (they
 * are multi-row steps) and bypass the {@link DecodeBatcher}, whose batches are one row per session.
 */
final class SpecVerifier {
  /** Most draft ids one speculative step may carry (also capped by max_chunk_tokens - 1). */
  static final int MAX_DRAFT_TOKENS = 16;

  private final InferenceEngine engine;
  private final ModelConfig mc;
  private final DraftChecks checks;
  private final PrefillGate prefills;
  private final EdgeMetrics metrics;
  private final IntFunction<String> tokenText;
  private final int maxDraft;

  SpecVerifier(
      InferenceEngine engine,
      int maxChunkTokens,
      PrefillGate prefills,
      EdgeMetrics metrics,
      IntFunction<String> tokenText) {
    this.engine = engine;
    this.mc = engine.config();
    this.checks = new DraftChecks(mc);
    this.prefills = prefills;
    this.metrics = metrics;
    this.tokenText = tokenText;
    this.maxDraft = maxDraft(maxChunkTokens);
  }

  /** ModelInfo.max_draft_tokens for an edge with {@code maxChunkTokens}. */
  static int maxDraft(int maxChunkTokens) {
    return Math.max(0, Math.min(MAX_DRAFT_TOKENS, maxChunkTokens - 1));
  }

  /**
   * Checks the drafts of {@code h} (rows {@code x}, already checked by {@link InputChecks#hidden}),
   * runs the edge's layers and head over all rows, verifies, and returns the Verified reply; the
   * session's cache, next position and token count are left at the accepted length.
   */
  EdgeMessage run(SessionState s, HiddenState h, float[] x, String client)
      throws InterruptedException {
    int rows = x.length / mc.hiddenSize();
    float[] q = checks.draft(s, h, rows, maxDraft);
    long t0 = System.nanoTime();
    long n = s.nextPosition;
    float[] y;
    try (PrefillGate.Permit p = prefills.enter(client)) {
      y = engine.runLayers(s.split + 1, mc.numLayers(), x, rows, s.cache);
    }
    float[] logits = engine.head(y, rows);
    int[] draft = h.getDraftIdsList().stream().mapToInt(Integer::intValue).toArray();
    int[] out = pick(s.sampler, logits, mc.vocabSize(), draft, q);
    int vocab = mc.vocabSize();
    Verified.Builder vb = Verified.newBuilder().setStep(h.getStep()).setEpoch(s.epoch);
    int m = 0;
    while (m < out.length) {
      int id = out[m];
      m++;
      s.generated++;
      metrics.token();
      boolean eos = id == mc.eosTokenId();
      vb.addTokens(
          Token.newBuilder()
              .setId(id)
              .setText(tokenText.apply(id))
              .setLogprob((float) Logits.logProb(logits, (m - 1) * vocab, vocab, id))
              .setPosition(n + m)
              .setEpoch(s.epoch)
              .setStep(h.getStep())
              .setEos(eos));
      if ((eos && s.stopAtEos) || s.generated >= s.maxNewTokens) {
        break; // the session ends inside the prefix: the rest is never sent
      }
    }
    int accepted = Math.min(out.length - 1, m);
    vb.setAccepted(accepted);
    // Keep the KV of the inputs whose outputs were used: positions n .. n + m - 1.
    s.cache.truncate((int) (n + m));
    s.nextPosition = n + m;
    metrics.speculative(draft.length, accepted);
    metrics.step(true, System.nanoTime() - t0);
    return EdgeMessage.newBuilder().setVerified(vb).build();
  }

  /**
   * The tokens a speculative step emits for {@code logits} [k + 1, vocab] and drafts {@code draft}
   * (k ids; {@code q} [k, vocab] their draft distributions, or null for deterministic drafts): the
   * accepted drafts, then the sampler's token for the first rejected position or, when all are
   * accepted, for the position after the last draft. Uses the sampler's seeded generator.
   */
  static int[] pick(Sampler sampler, float[] logits, int vocab, int[] draft, float[] q) {
    int k = draft.length;
    int[] out = new int[k + 1];
    boolean greedy = sampler.params().isGreedy();
    for (int i = 0; i < k; i++) {
      int d = draft[i];
      if (greedy) {
        int own = sampler.sample(logits, i * vocab, vocab).id();
        out[i] = own;
        if (own != d) {
          return Arrays.copyOf(out, i + 1);
        }
        continue;
      }
      double[] p = sampler.probs(logits, i * vocab, vocab);
      double qd = q == null ? 1 : q[i * vocab + d];
      if (sampler.uniform() < Math.min(1, p[d] / qd)) {
        out[i] = d;
        continue;
      }
      double[] residual = new double[vocab];
      double mass = 0;
      for (int v = 0; v < vocab; v++) {
        double qv = q == null ? (v == d ? 1 : 0) : q[i * vocab + v];
        residual[v] = Math.max(0, p[v] - qv);
        mass += residual[v];
      }
      out[i] = sampler.drawFrom(mass > 0 ? residual : p);
      return Arrays.copyOf(out, i + 1);
    }
    out[k] = sampler.sample(logits, k * vocab, vocab).id();
    return out;
  }
}
