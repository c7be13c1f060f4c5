package io.splitinfer.controller.experiments;

/**
 * How much of each experiment a run does: {@link #full()} is the paper-sized run (under an hour on
 * 2 cores), {@link #quick()} the smoke-sized one (minutes). Every number a study uses comes from
 * here, so RESULTS.md can state them.
 *
 * @param seeds channel seeds per Fig. 3 cell (≥ 5 in the full run)
 * @param sequences held-out windows per PPL measurement
 * @param length tokens per window (W = stride)
 * @param fig3Splits splits of the Fig. 3 lines
 * @param fig3Sigmas absolute AWGN σ of the equal-σ lines (σ = 0 is always added)
 * @param fig3SnrDb SNRs of the equal-SNR lines
 * @param fig3Losses Rayleigh loss levels (raw and equalizing receiver)
 * @param heatSigmas σ columns of the heat map
 * @param heatLosses loss rows of the heat map
 * @param heatSplits splits with a heat map
 * @param measureSigmas σ grid of the surrogate's records ({@code controller measure})
 * @param measureLosses loss grid of the surrogate's records
 * @param folds cross-validation folds of the surrogate
 * @param trainSeeds training seeds (Fig. 5, 6, 8)
 * @param steps training steps per run (Table IV: 24k)
 * @param cases cases of Fig. 5
 * @param episodes evaluation episodes per policy
 * @param sweepValues how many values of each Fig. 8 sweep (from the sweep's list, default first)
 * @param measuredSteps steps of the measured-reward Table IV run (then extrapolated)
 * @param decisions Fig. 7 decisions
 */
record Plan(
    int seeds,
    int sequences,
    int length,
    int[] fig3Splits,
    double[] fig3Sigmas,
    double[] fig3SnrDb,
    double[] fig3Losses,
    double[] heatSigmas,
    double[] heatLosses,
    int[] heatSplits,
    String measureSigmas,
    String measureLosses,
    int folds,
    int trainSeeds,
    int steps,
    String cases,
    int episodes,
    int sweepValues,
    int measuredSteps,
    int decisions) {

  static Plan full() {
    return new Plan(
        5,
        8,
        256,
        new int[] {1, 3, 6, 9, 11},
        new double[] {2, 4, 8, 16},
        new double[] {0, 6, 12},
        new double[] {0.05, 0.1, 0.2, 0.3},
        new double[] {0, 2, 4, 8},
        new double[] {0, 0.1, 0.2, 0.3},
        new int[] {1, 11},
        "0,1,2,3,4.5,6,8",
        "0,0.05,0.1,0.15,0.2,0.3",
        5,
        3,
        24_000,
        "L,H,A",
        2000,
        3,
        100,
        500);
  }

  static Plan quick() {
    return new Plan(
        2,
        2,
        256,
        new int[] {1, 6, 11},
        new double[] {8},
        new double[] {0},
        new double[] {0.2},
        new double[] {0, 8},
        new double[] {0, 0.2},
        new int[] {1},
        "0,4.5,8",
        "0,0.1,0.3",
        3,
        2,
        4_000,
        "A",
        300,
        2,
        20,
        200);
  }
}
