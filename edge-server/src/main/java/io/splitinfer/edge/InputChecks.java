package io.splitinfer.edge;

import io.grpc.Status;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.TensorFormatException;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.KvTransfer;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.SessionMode;
import io.splitinfer.proto.v1.SessionOpen;
import io.splitinfer.proto.v1.SplitSwitch;
import io.splitinfer.proto.v1.Tensor;
import io.splitinfer.proto.v1.UeMessage;
import java.util.Arrays;

/**
 * Every check of what a UE sends, against the model, the edge's limits and the session's state:
 * each refusal is a {@link SessionException} carrying the gRPC status, its description and the
 * metrics reason. It reads the session state and never changes it, and it neither computes nor
 * sends; the order of the checks per message is the order in which a peer's errors are reported.
 * The checks of a speculative step's drafts are {@link DraftChecks}'.
 */
final class InputChecks {
  private final ModelConfig mc;
  private final ModelInfo modelInfo;
  private final int minSplit;
  private final int maxSplit;
  private final int maxChunk;
  private final int maxMessageBytes;

  InputChecks(ModelConfig mc, ModelInfo modelInfo, EdgeConfig config, int maxMessageBytes) {
    this.mc = mc;
    this.modelInfo = modelInfo;
    this.minSplit = config.minSplit();
    this.maxSplit = modelInfo.getMaxSplit();
    this.maxChunk = config.maxChunkTokens();
    this.maxMessageBytes = maxMessageBytes;
  }

  /** A KV block's decoded keys and values, [kvHeads, tokens, headDim] each. */
  record KvBlock(int tokens, float[] keys, float[] values) {}

  /** Any message: parseable, and not over the size limit. */
  void message(UeMessage msg) {
    String parseError = LenientSessionMarshaller.parseError(msg);
    if (parseError != null) {
      throw SessionException.invalid("unparseable", "unparseable UeMessage: " + parseError);
    }
    if (msg.getSerializedSize() > maxMessageBytes) {
      throw new SessionException(
          Status.Code.RESOURCE_EXHAUSTED,
          "message_too_large",
          "message of " + msg.getSerializedSize() + " bytes exceeds maximum " + maxMessageBytes);
    }
  }

  /** SessionOpen: model, id, mode, split, dtype, max_new_tokens and sampling; the sampler. */
  Sampler open(SessionOpen o) {
    ModelInfoCheck.check(modelInfo, o);
    if (o.getSessionId().isEmpty()) {
      throw SessionException.invalid("bad_field", "session_id must not be empty");
    }
    if (o.getMode() != SessionMode.SESSION_MODE_GENERATE
        && o.getMode() != SessionMode.SESSION_MODE_SCORE) {
      throw SessionException.invalid(
          "bad_field", "mode must be GENERATE or SCORE, got " + o.getMode());
    }
    splitInRange(o.getSplit());
    switch (o.getWireDtype()) {
      case DTYPE_F32, DTYPE_F16, DTYPE_BF16, DTYPE_INT8 -> {}
      default ->
          throw SessionException.invalid(
              "bad_dtype", "wire_dtype must be F32, F16, BF16 or INT8, got " + o.getWireDtype());
    }
    if (o.getMaxNewTokens() < 0) {
      throw SessionException.invalid("bad_field", "max_new_tokens must be >= 0");
    }
    try {
      return new Sampler(Sampler.Params.of(o.getSampling()));
    } catch (IllegalArgumentException e) {
      throw SessionException.invalid("bad_sampling", e.getMessage());
    }
  }

  void splitInRange(int split) {
    if (split < minSplit || split > maxSplit) {
      throw SessionException.invalid(
          "split_out_of_range",
          "split " + split + " is out of range [" + minSplit + ", " + maxSplit + "]");
    }
  }

  /** The message names this stream's session. */
  void session(SessionState s, String sid) {
    if (!s.id.equals(sid)) {
      throw new SessionException(
          Status.Code.NOT_FOUND,
          "unknown_session",
          "unknown session '" + sid + "' (this stream carries session '" + s.id + "')");
    }
  }

  /** A HiddenState's epoch is the session's (older: stale; newer: never announced). */
  void epoch(SessionState s, long e) {
    if (e < s.epoch) {
      throw SessionException.precondition(
          "stale_epoch", "stale epoch " + e + ": the session is at epoch " + s.epoch);
    }
    if (e > s.epoch) {
      throw SessionException.invalid(
          "future_epoch",
          "epoch " + e + " was never announced by a SplitSwitch (session is at " + s.epoch + ")");
    }
  }

  /**
   * A HiddenState after its session and epoch checks: split, first position == {@code position}
   * (the session's next one; for a message sent ahead where it says it starts, then {@link
   * #conditionHolds} decides), dtype, shape, length, finite values and SCORE targets. Returns the
   * decoded [T, hidden] rows.
   */
  float[] hidden(SessionState s, HiddenState h, long position) {
    if (h.getSplitLayer() != s.split) {
      throw SessionException.invalid(
          "wrong_split",
          "split_layer " + h.getSplitLayer() + " but the session's split is " + s.split);
    }
    if (h.getFirstPosition() != position) {
      throw SessionException.invalid(
          "wrong_position",
          "first_position "
              + h.getFirstPosition()
              + " but the next expected position is "
              + position);
    }
    Tensor t = h.getTensor();
    if (t.getDtype() != s.wireDtype) {
      throw SessionException.invalid(
          "wrong_dtype",
          "tensor dtype " + t.getDtype() + " but the session's wire dtype is " + s.wireDtype);
    }
    long[] shape;
    try {
      shape = TensorCodec.shape(t);
    } catch (TensorFormatException e) {
      throw SessionException.invalid("wrong_shape", e.getMessage());
    }
    if (shape.length != 2 || shape[1] != mc.hiddenSize() || shape[0] < 1 || shape[0] > maxChunk) {
      throw SessionException.invalid(
          "wrong_shape",
          "hidden state shape "
              + Arrays.toString(shape)
              + " must be [T, "
              + mc.hiddenSize()
              + "] with 1 <= T <= "
              + maxChunk);
    }
    int tokens = (int) shape[0];
    if (position + tokens > mc.maxPositions()) {
      throw SessionException.invalid(
          "too_long",
          "positions up to " + (position + tokens) + " exceed max_positions " + mc.maxPositions());
    }
    float[] x = decodeFinite(t, "hidden state");
    if (s.mode == SessionMode.SESSION_MODE_SCORE) {
      targets(h, tokens);
    }
    return x;
  }

  /**
   * A message sent ahead (HiddenState.if_token): whether it runs. It runs when it starts at the
   * edge's next position and the token the edge chose there is the guess; it is dropped when the
   * token differs, or when it starts beyond the next position (it was sent on the guess that a
   * speculative step would accept all its drafts, and that step accepted fewer). Refused: a message
   * that is not a sampled GENERATE step (one row, or a speculative step), an if_token outside the
   * vocabulary, a start before the next position, or one with no token chosen there yet. {@code
   * tokens}: the rows {@link #hidden} accepted.
   */
  boolean conditionHolds(SessionState s, HiddenState h, int tokens) {
    int guess = h.getIfToken();
    if (s.mode != SessionMode.SESSION_MODE_GENERATE
        || !h.getSample()
        || (tokens != 1 && h.getDraftIdsCount() == 0)) {
      throw SessionException.invalid(
          "bad_conditional",
          "if_token is for a sampled GENERATE step of one row or with draft_ids (mode "
              + s.mode
              + ", sample "
              + h.getSample()
              + ", "
              + tokens
              + " rows, "
              + h.getDraftIdsCount()
              + " draft ids)");
    }
    if (guess < 0 || guess >= mc.vocabSize()) {
      throw SessionException.invalid(
          "bad_conditional", "if_token " + guess + " outside [0, " + mc.vocabSize() + ")");
    }
    long at = h.getFirstPosition();
    if (at > s.nextPosition) {
      return false;
    }
    if (at < s.nextPosition || s.lastTokenPosition != at) {
      throw SessionException.invalid(
          "bad_conditional",
          "if_token at position "
              + at
              + " but the edge's next position is "
              + s.nextPosition
              + " and its last token is at "
              + (s.lastTokenPosition < 0 ? "none yet" : String.valueOf(s.lastTokenPosition)));
    }
    return guess == s.lastTokenId;
  }

  private void targets(HiddenState h, int tokens) {
    if (h.getTargetIdsCount() != tokens) {
      throw SessionException.invalid(
          "bad_targets",
          "SCORE mode needs " + tokens + " target_ids, got " + h.getTargetIdsCount());
    }
    for (int id : h.getTargetIdsList()) {
      if (id < -1 || id >= mc.vocabSize()) {
        throw SessionException.invalid(
            "bad_targets", "target id " + id + " outside [-1, " + mc.vocabSize() + ")");
      }
    }
  }

  private float[] decodeFinite(Tensor t, String what) {
    float[] x;
    try {
      x = TensorCodec.decode(t);
    } catch (TensorFormatException e) {
      throw SessionException.invalid("bad_tensor", e.getMessage());
    }
    int bad = TensorCodec.firstNonFinite(x);
    if (bad >= 0) {
      throw SessionException.invalid(
          "non_finite",
          what
              + " has a non-finite value ("
              + x[bad]
              + ") at row "
              + bad / mc.hiddenSize()
              + ", column "
              + bad % mc.hiddenSize());
    }
    return x;
  }

  /** A SplitSwitch's epoch is newer than the session's. */
  void switchEpoch(SessionState s, SplitSwitch sw) {
    if (sw.getEpoch() <= s.epoch) {
      throw SessionException.precondition(
          "stale_epoch",
          "stale epoch " + sw.getEpoch() + " in SplitSwitch: the session is at epoch " + s.epoch);
    }
  }

  /** A SplitSwitch's split is accepted and it applies at the next position. */
  void switchTarget(SessionState s, SplitSwitch sw) {
    splitInRange(sw.getNewSplit());
    if (sw.getEffectivePosition() != s.nextPosition) {
      throw SessionException.invalid(
          "wrong_position",
          "effective_position "
              + sw.getEffectivePosition()
              + " but the next expected position is "
              + s.nextPosition
              + " (switch only at a step boundary)");
    }
  }

  /**
   * A KvTransfer block at the expected position {@code have} of a layer that must reach {@code
   * length} positions: shapes [kvHeads, T, headDim] for key and value, finite values.
   */
  KvBlock kv(KvTransfer kv, int have, int length) {
    if (kv.getFirstPosition() != have) {
      throw SessionException.invalid(
          "wrong_position",
          "KvTransfer of layer "
              + kv.getLayer()
              + " starts at "
              + kv.getFirstPosition()
              + " but the next expected position is "
              + have);
    }
    long[] ks = TensorCodec.shape(kv.getKey());
    long[] vs = TensorCodec.shape(kv.getValue());
    if (ks.length != 3
        || !Arrays.equals(ks, vs)
        || ks[0] != mc.numKvHeads()
        || ks[2] != mc.headDim()
        || ks[1] < 1
        || have + ks[1] > length) {
      throw SessionException.invalid(
          "wrong_shape",
          "KV shapes "
              + Arrays.toString(ks)
              + " / "
              + Arrays.toString(vs)
              + " must both be ["
              + mc.numKvHeads()
              + ", T, "
              + mc.headDim()
              + "] within positions [0, "
              + length
              + ")");
    }
    float[] k = TensorCodec.decode(kv.getKey());
    float[] v = TensorCodec.decode(kv.getValue());
    if (TensorCodec.firstNonFinite(k) >= 0 || TensorCodec.firstNonFinite(v) >= 0) {
      throw SessionException.invalid("non_finite", "KvTransfer has non-finite values");
    }
    return new KvBlock((int) ks[1], k, v);
  }
}
