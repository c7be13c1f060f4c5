package io.splitinfer.controller.reward;

import io.splitinfer.core.objective.WeightFormatCost;
import java.time.Instant;

/**
 * One measurement of the split pipeline: the perplexity (eq. 6) at split p over a channel (σ, σ_h),
 * with the UE cost of eq. 2 (FLOPs) and where/when it was taken, on a UE of which weight format.
 *
 * @param sigma additive noise σ
 * @param sigmaH Rayleigh scale σ_h
 * @param split p
 * @param ppl measured perplexity
 * @param cost C_UE(p) in FLOPs
 * @param modelId model measured
 * @param source how it was measured ("measured", ...)
 * @param at when
 * @param weightFormat weight format of the UE's layers in the measured package (canonical, {@link
 *     WeightFormatCost#canonical}; records from before formats were recorded are f32)
 */
public record MeasurementRecord(
    double sigma,
    double sigmaH,
    int split,
    double ppl,
    double cost,
    String modelId,
    String source,
    Instant at,
    String weightFormat) {
  public MeasurementRecord {
    weightFormat = WeightFormatCost.canonical(weightFormat);
  }

  /** A record of an f32 UE. */
  public MeasurementRecord(
      double sigma,
      double sigmaH,
      int split,
      double ppl,
      double cost,
      String modelId,
      String source,
      Instant at) {
    this(sigma, sigmaH, split, ppl, cost, modelId, source, at, WeightFormatCost.DEFAULT);
  }
}
