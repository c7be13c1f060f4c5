package io.splitinfer.core.objective;

import java.util.function.IntToDoubleFunction;

/**
 * The split objective of eq. 7 and the reward of eq. 8:
 *
 * <pre>
 *   J(p) = PPL(p; σ, σ_h) + λ·Ĉ_UE(p)          p* = argmin_p J(p)
 *   r    = −J(p)
 * </pre>
 *
 * <p><b>Normalization.</b> The paper weighs the raw FLOP count by λ; raw FLOPs (~10¹⁰ for a small
 * model) would make any sensible λ tiny and model-specific. We use Ĉ_UE(p) = C_UE(p)/C_UE(L) ∈ [0,
 * 1] ({@link UeCost#normalized}; C_UE(L) of an f32 UE, so a UE with cheaper weights pays less for
 * the same split), so λ reads "PPL points that running all L layers on an f32 UE is worth": with λ
 * = 2, moving the split from 0 to L must lower the perplexity by more than 2 to pay off. λ = 0
 * ignores the UE's load.
 *
 * @param cost the UE cost model (eq. 2) of the model being split
 * @param lambda the weight λ ≥ 0 on the normalized UE cost
 */
public record Objective(UeCost cost, double lambda) {
  public Objective {
    if (cost == null) {
      throw new IllegalArgumentException("cost is required");
    }
    if (!(lambda >= 0) || Double.isInfinite(lambda)) {
      throw new IllegalArgumentException("lambda must be finite and >= 0: " + lambda);
    }
  }

  /** J(p) = PPL + λ·Ĉ_UE(p) (eq. 7's minimand). */
  public double value(double ppl, int p) {
    return ppl + lambda * cost.normalized(p);
  }

  /** r = −(PPL + λ·Ĉ_UE(p)) (eq. 8). */
  public double reward(double ppl, int p) {
    return -value(ppl, p);
  }

  /**
   * p* = argmin over p in [pMin, pMax] of J(p) (eq. 7), by exhaustive search; ties go to the
   * earlier split (less UE load at equal objective cannot happen with λ > 0, so ties only occur at
   * λ = 0).
   *
   * @param ppl PPL(p) for the channel at hand
   */
  public int argmin(IntToDoubleFunction ppl, int pMin, int pMax) {
    if (pMin > pMax) {
      throw new IllegalArgumentException("empty split range [" + pMin + ", " + pMax + "]");
    }
    int best = pMin;
    double bestValue = Double.POSITIVE_INFINITY;
    for (int p = pMin; p <= pMax; p++) {
      double v = value(ppl.applyAsDouble(p), p);
      if (v < bestValue) {
        bestValue = v;
        best = p;
      }
    }
    return best;
  }
}
