package io.splitinfer.edge;

import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.TensorFormatException;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.SessionMode;
import io.splitinfer.proto.v1.Tensor;
import java.util.Arrays;

/**
 * The checks of a speculative HiddenState's drafts (after {@link InputChecks#hidden} passed its
 * rows): each refusal is a {@link SessionException} with INVALID_ARGUMENT and the metrics reason
 * {@code bad_draft}, {@code draft_too_long} or {@code bad_draft_probs}. Reads, never changes, the
 * session.
 */
final class DraftChecks {
  private final ModelConfig mc;

  DraftChecks(ModelConfig mc) {
    this.mc = mc;
  }

  /**
   * A speculative HiddenState ({@code draft_ids} set) after {@link #hidden}: GENERATE with sample,
   * T == drafts + 1, 1 <= drafts <= {@code maxDraft}, ids in [0, vocab), and draft_probs (when
   * present) [k, vocab] f32 distributions that give each draft id a positive probability. Returns
   * the draft distributions, or null when absent (deterministic drafts).
   */
  float[] draft(SessionState s, HiddenState h, int tokens, int maxDraft) {
    int k = h.getDraftIdsCount();
    if (s.mode != SessionMode.SESSION_MODE_GENERATE || !h.getSample()) {
      throw SessionException.invalid(
          "bad_draft", "draft_ids need a GENERATE session and sample = true");
    }
    if (k > maxDraft) {
      throw SessionException.invalid(
          "draft_too_long", k + " draft ids exceed the edge's max_draft_tokens " + maxDraft);
    }
    if (tokens != k + 1) {
      throw SessionException.invalid(
          "bad_draft",
          tokens + " hidden rows for " + k + " draft ids (a speculative step has drafts + 1 rows)");
    }
    int vocab = mc.vocabSize();
    for (int id : h.getDraftIdsList()) {
      if (id < 0 || id >= vocab) {
        throw SessionException.invalid(
            "bad_draft", "draft id " + id + " outside [0, " + vocab + ")");
      }
    }
    if (!h.hasDraftProbs()) {
      return null;
    }
    Tensor t = h.getDraftProbs();
    long[] shape;
    try {
      shape = TensorCodec.shape(t);
    } catch (TensorFormatException e) {
      throw SessionException.invalid("bad_draft_probs", e.getMessage());
    }
    if (t.getDtype() != DType.DTYPE_F32
        || shape.length != 2
        || shape[0] != k
        || shape[1] != vocab) {
      throw SessionException.invalid(
          "bad_draft_probs",
          "draft_probs must be F32 ["
              + k
              + ", "
              + vocab
              + "], got "
              + t.getDtype()
              + " "
              + Arrays.toString(shape));
    }
    float[] q;
    try {
      q = TensorCodec.decode(t);
    } catch (TensorFormatException e) {
      throw SessionException.invalid("bad_draft_probs", e.getMessage());
    }
    for (int r = 0; r < k; r++) {
      double sum = 0;
      for (int v = 0; v < vocab; v++) {
        float x = q[r * vocab + v];
        if (!(x >= 0) || Float.isInfinite(x)) {
          throw SessionException.invalid(
              "bad_draft_probs", "draft_probs row " + r + " has " + x + " at id " + v);
        }
        sum += x;
      }
      if (Math.abs(sum - 1) > 1e-3 || q[r * vocab + h.getDraftIds(r)] <= 0) {
        throw SessionException.invalid(
            "bad_draft_probs",
            "draft_probs row "
                + r
                + " sums to "
                + sum
                + " and gives draft id "
                + h.getDraftIds(r)
                + " probability "
                + q[r * vocab + h.getDraftIds(r)]
                + " (need a distribution with q(draft) > 0)");
      }
    }
    return q;
  }
}
