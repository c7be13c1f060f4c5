package io.splitinfer.controller.reward;

import java.time.Instant;

/**
 * One measurement of the split pipeline: the perplexity (eq. 6) at split p over a channel (σ, σ_h),
 * with the UE cost of eq. 2 (FLOPs) and where/when it was taken.
 *
 * @param sigma additive noise σ
 * @param sigmaH Rayleigh scale σ_h
 * @param split p
 * @param ppl measured perplexity
 * @param cost C_UE(p) in FLOPs
 * @param modelId model measured
 * @param source how it was measured ("measured", ...)
 * @param at when
 */
public record MeasurementRecord(
    double sigma,
    double sigmaH,
    int split,
    double ppl,
    double cost,
    String modelId,
    String source,
    Instant at) {}
