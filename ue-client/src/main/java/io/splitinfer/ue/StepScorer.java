package io.splitinfer.ue;

import io.grpc.Channel;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.Scores;
import io.splitinfer.proto.v1.SwitchMethod;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Teacher-forced scoring (SCORE mode) one step at a time while following a {@link SplitSource}: a
 * step sends {@code stepTokens} positions (1 = decode-like) and waits for their scores; before each
 * step the source is polled and a newer decision is applied by {@link UeSession#follow}
 * (SplitSwitch and KV transfer), exactly as generation does. This is what the live loop measures
 * perplexity with while the controller moves the split; on a clean link the log-probabilities equal
 * a fixed split's. The protocol is {@link UeSession}'s; this class is the step loop and its timing.
 */
public final class StepScorer {
  /**
   * One scored step.
   *
   * @param step step index (the value passed to {@link SplitSource#current})
   * @param position first input position of the step (its targets are positions + 1 ..)
   * @param tokens positions scored in this step
   * @param split split in force for the step
   * @param epoch epoch of that split
   * @param logprob sum of the natural log-probabilities of the step's targets
   * @param stepNanos from the start of the step (before any switch) to its Scores
   * @param switched whether the step began with a split switch
   */
  public record Step(
      long step,
      long position,
      int tokens,
      int split,
      long epoch,
      double logprob,
      long stepNanos,
      boolean switched) {}

  private final Channel channel;
  private final UeModel model;
  private final DType wire;
  private final String ueId;
  private final PilotSource pilots;
  private final int pilotEvery;
  private SwitchCostModel.Config switchCosts = SwitchCostModel.Config.auto();
  private long bytesSent;
  private long pilotSeq;
  private long recomputedLayerPositions;

  public StepScorer(Channel channel, UeModel model, DType wire, String ueId) {
    this(channel, model, wire, ueId, null, 0);
  }

  /**
   * @param pilots pilot source, or null for none
   * @param pilotEvery send a pilot before every {@code pilotEvery}-th step (0 = never), as {@code
   *     generate --pilot-every} does, so the edge can estimate σ for the controller
   */
  public StepScorer(
      Channel channel, UeModel model, DType wire, String ueId, PilotSource pilots, int pilotEvery) {
    this.channel = channel;
    this.model = model;
    this.wire = wire;
    this.ueId = ueId;
    this.pilots = pilots;
    this.pilotEvery = pilots == null ? 0 : pilotEvery;
  }

  /** Bytes sent by all sessions of this scorer so far. */
  public long bytesSent() {
    return bytesSent;
  }

  /** How split switches move KV (default: by cost); returns this. */
  public StepScorer useSwitchCosts(SwitchCostModel.Config config) {
    this.switchCosts = config;
    return this;
  }

  /** Layer-positions the UE recomputed at split switches so far (RECOMPUTE switches). */
  public long recomputedLayerPositions() {
    return recomputedLayerPositions;
  }

  /**
   * Scores {@code tokens[i + 1]} given {@code tokens[0..i]} for every i in [0, n-2] in one session,
   * {@code stepTokens} positions per step, numbering steps from {@code firstStep}. Entry i of the
   * result is the log-probability of {@code tokens[i + 1]}; {@code onStep} sees each step.
   */
  public float[] score(
      int[] tokens, int stepTokens, SplitSource splits, long firstStep, Consumer<Step> onStep) {
    if (stepTokens < 1) {
      throw new IllegalArgumentException("stepTokens must be >= 1, got " + stepTokens);
    }
    int inputs = tokens.length - 1;
    if (inputs < 1) {
      return new float[0];
    }
    float[] out = new float[inputs];
    long step = firstStep;
    try (UeSession s =
        UeSession.open(channel, model, SessionOptions.score(ueId, wire), splits.current(step))) {
      s.useSwitchCosts(new SwitchCostModel(switchCosts));
      int k = Math.min(stepTokens, s.maxChunk());
      for (int from = 0; from < inputs; from += k, step++) {
        long t0 = System.nanoTime();
        boolean switched = s.follow(splits.current(step));
        SwitchCostModel.Estimate sw = s.lastSwitch();
        if (switched && sw != null && sw.method() == SwitchMethod.SWITCH_METHOD_RECOMPUTE) {
          recomputedLayerPositions += sw.recomputeLayerPositions();
        }
        if (pilotEvery > 0 && step % pilotEvery == 0) {
          s.pilot(pilots.pilot(s.id(), pilotSeq++));
        }
        int to = Math.min(inputs, from + k);
        s.send(
            Arrays.copyOfRange(tokens, from, to),
            Arrays.copyOfRange(tokens, from + 1, to + 1),
            false,
            step);
        Scores sc = s.nextScores();
        double sum = 0;
        for (int r = 0; r < sc.getTargetLogprobsCount(); r++) {
          out[from + r] = sc.getTargetLogprobs(r);
          sum += sc.getTargetLogprobs(r);
        }
        onStep.accept(
            new Step(
                step,
                from,
                to - from,
                s.split(),
                s.epoch(),
                sum,
                System.nanoTime() - t0,
                switched));
      }
      s.finish();
      bytesSent += s.bytesSent();
    }
    return out;
  }
}
