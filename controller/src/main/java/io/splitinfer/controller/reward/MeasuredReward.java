package io.splitinfer.controller.reward;

import io.splitinfer.controller.env.ChannelDraw;
import io.splitinfer.core.objective.UeCost;
import java.time.Clock;
import java.util.Optional;

/**
 * PPL measured through the real split pipeline ({@link SplitPipeline}), cached in the records
 * database.
 *
 * <p><b>Caching.</b> A measurement costs seconds, and channel draws are continuous, so requests are
 * snapped to a grid before lookup: σ to multiples of {@code sigmaStep}, and σ_h through its loss
 * probability (eq. 4) to multiples of {@code lossStep}. A grid point measured once (by this run or
 * an earlier one sharing the database) is read back instead of measured again. Set the steps to 0
 * to measure exactly what is asked (no snapping; lookups then only hit exact repeats).
 */
public final class MeasuredReward implements RewardSource {
  private final SplitPipeline pipeline;
  private final RecordStore store;
  private final UeCost cost;
  private final double sigmaStep;
  private final double lossStep;
  private final double hThreshold;
  private final Clock clock;
  private long measurements;
  private long cacheHits;

  public MeasuredReward(
      SplitPipeline pipeline,
      RecordStore store,
      double sigmaStep,
      double lossStep,
      double hThreshold,
      Clock clock) {
    this.pipeline = pipeline;
    this.store = store;
    this.cost =
        new UeCost(
            pipeline.inputLength(),
            pipeline.hiddenSize(),
            pipeline.numLayers(),
            pipeline.weightFormat());
    this.sigmaStep = sigmaStep;
    this.lossStep = lossStep;
    this.hThreshold = hThreshold;
    this.clock = clock;
  }

  @Override
  public synchronized double ppl(double sigma, double sigmaH, int split) {
    double s = sigmaStep > 0 ? Math.round(sigma / sigmaStep) * sigmaStep : sigma;
    double sh = sigmaH;
    if (lossStep > 0) {
      double loss = ChannelDraw.lossForSigmaH(sigmaH, hThreshold);
      double snapped = Math.max(ChannelDraw.MIN_LOSS, Math.round(loss / lossStep) * lossStep);
      sh = ChannelDraw.sigmaHForLoss(snapped, hThreshold);
    }
    Optional<MeasurementRecord> hit =
        store.find(pipeline.modelId(), cost.weightFormat(), s, sh, split, 1e-9);
    if (hit.isPresent()) {
      cacheHits++;
      return hit.get().ppl();
    }
    double ppl = pipeline.perplexity(s, sh, split);
    measurements++;
    store.insert(
        new MeasurementRecord(
            s,
            sh,
            split,
            ppl,
            cost.flops(split),
            pipeline.modelId(),
            name(),
            clock.instant(),
            cost.weightFormat()));
    return ppl;
  }

  @Override
  public String name() {
    return "measured";
  }

  public synchronized long measurements() {
    return measurements;
  }

  public synchronized long cacheHits() {
    return cacheHits;
  }

  public SplitPipeline pipeline() {
    return pipeline;
  }

  public RecordStore store() {
    return store;
  }
}
