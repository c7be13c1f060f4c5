package io.splitinfer.controller.service;

/**
 * A live split policy: given a UE's channel (σ, σ_h at the policy's h_th) and current split,
 * proposes the split to use. The service applies hysteresis on top.
 */
public interface SplitPolicy {
  int propose(double sigma, double sigmaH, int currentSplit, int minSplit, int maxSplit);

  String name();

  /** The checkpoint it came from ("" if none). */
  default String checkpoint() {
    return "";
  }

  /**
   * The UE weight format it was trained for (canonical name, core {@code WeightFormatCost}); "" =
   * any format (policies that learned nothing from a format's costs or records). The service does
   * not use a policy for a UE of another format.
   */
  default String weightFormat() {
    return "";
  }
}
