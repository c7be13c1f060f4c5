package io.splitinfer.controller.cli;

import io.splitinfer.controller.service.SpecDepth;
import picocli.CommandLine.Option;

/** {@code serve}'s speculation-depth flags (controller README, "Speculation depth"). */
final class SpecDepthFlags {
  @Option(
      names = "--spec-k-max",
      description =
          "advise UEs at most this many draft tokens per speculative round (spec_k in each"
              + " decision; 0 = never advise): this while their edge has idle capacity, fewer once"
              + " its decode queue reaches --spec-saturated-queue (controller README, SpecDepth)",
      defaultValue = "0")
  int specKMax;

  @Option(
      names = "--spec-acceptance",
      description = "per-draft acceptance rate assumed for the advice (the n-gram drafter: ~0.4)",
      defaultValue = "0.4")
  double specAcceptance;

  @Option(
      names = "--spec-row-cost",
      description =
          "edge cost of one more verified row, in single-step units (ONNX Runtime 0.07, the"
              + " vector engine 0.29 on the default model)",
      defaultValue = "0.1")
  double specRowCost;

  @Option(
      names = "--spec-saturated-queue",
      description = "an edge whose mean decode queue reaches this counts as saturated",
      defaultValue = "1.0")
  double specSaturatedQueue;

  /** The advice rule these flags describe; refuses values outside their ranges. */
  SpecDepth depth() {
    return new SpecDepth(specKMax, specAcceptance, specRowCost, specSaturatedQueue);
  }
}
