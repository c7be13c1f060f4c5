package io.splitinfer.ue;

import io.splitinfer.model.engine.InferenceEngine;

/**
 * Proposes the tokens of a speculative round on the UE ({@link SpecDecoder}). Whatever drafts, the
 * rows sent are the UE's layers 1..p over the round's inputs, computed through {@link
 * UeSession#draftRow} so the session's cache holds their KV.
 */
public interface Drafter {
  /**
   * One round's proposal.
   *
   * @param ids the inputs of the k + 1 rows: the last token received, then the k drafts
   * @param rows their hidden states at layer p, [k + 1, d]
   * @param drafts the k drafted token ids (ids without its first)
   */
  record Draft(int[] ids, float[] rows, int[] drafts) {}

  /** Drafts {@code k >= 1} tokens after {@code last} on session {@code s}. */
  Draft draft(UeSession s, int last, int k);

  /** The drafter a CLI names: {@code early-exit} or {@code lookup} (prompt lookup + early exit). */
  static Drafter named(String name, InferenceEngine engine) {
    return switch (name) {
      case "early-exit" -> new EarlyExitDrafter(engine);
      case "lookup" -> new LookupDrafter(engine);
      default ->
          throw new IllegalArgumentException(
              "unknown drafter '" + name + "' (early-exit or lookup)");
    };
  }
}
