package io.splitinfer.controller.service;

import io.micrometer.core.instrument.MeterRegistry;
import io.splitinfer.core.objective.WeightFormatCost;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which policy may decide for which UE, by weight format: a policy trained for one format (its
 * checkpoint's or surrogate's, {@link SplitPolicy#weightFormat}) is not used for a UE that
 * registered another ({@code UeRegistration.weight_format}); a policy of no format (fixed, random)
 * serves every UE. The service holds a refused UE's split in force. A refusal is logged and counted
 * ({@code controller_policy_format_refusals_total{policy, policy_format, ue_format}}) once per UE
 * and policy; the note for the decision's detail comes back every time.
 */
final class PolicyFormatGate {
  private static final Logger log = LoggerFactory.getLogger(PolicyFormatGate.class);
  private final MeterRegistry metrics;

  PolicyFormatGate(MeterRegistry metrics) {
    this.metrics = metrics;
  }

  /** Whether {@code policy} may decide for a UE of {@code ueFormat} (canonical). */
  static boolean matches(SplitPolicy policy, String ueFormat) {
    String f = policy.weightFormat();
    return f == null || f.isEmpty() || f.equals(ueFormat);
  }

  /**
   * The note for a refused UE's decision ({@code ""} when the policy matches); logs and counts the
   * refusal when {@code first} (the first time this policy meets this UE).
   *
   * @param heldSplit the split that holds (−1 before the UE's first decision)
   */
  String refusal(SplitPolicy policy, String ueId, String ueFormat, int heldSplit, boolean first) {
    if (matches(policy, ueFormat)) {
      return "";
    }
    if (first) {
      metrics
          .counter(
              "controller_policy_format_refusals_total",
              "policy",
              policy.name(),
              "policy_format",
              policy.weightFormat(),
              "ue_format",
              ueFormat)
          .increment();
      log.warn(
          "policy {} {} was trained for {} weights; UE {} runs {} weights: not used for it, its"
              + " split holds at {} until a policy for {} is set",
          policy.name(),
          policy.checkpoint(),
          policy.weightFormat(),
          ueId,
          ueFormat,
          heldSplit < 0 ? "the initial split" : Integer.toString(heldSplit),
          ueFormat);
    }
    return "; policy "
        + policy.name()
        + " was trained for "
        + policy.weightFormat()
        + " weights, this UE runs "
        + ueFormat
        + ": refused, the split holds";
  }

  /** The canonical format of a stored registration ({@code f32} for one that does not parse). */
  static String storedFormat(String f) {
    try {
      return WeightFormatCost.canonical(f);
    } catch (IllegalArgumentException e) {
      return WeightFormatCost.DEFAULT;
    }
  }
}
