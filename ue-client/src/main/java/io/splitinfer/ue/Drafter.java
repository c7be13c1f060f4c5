package io.splitinfer.ue;

import io.splitinfer.model.draft.NgramTable;
import io.splitinfer.model.engine.InferenceEngine;
import java.io.IOException;
import java.nio.file.Path;

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

  /**
   * Drafts 1 to {@code k} tokens after {@code last}: stops early, after the first, where the
   * drafter's own estimate of the chance that every draft so far is accepted falls below {@code
   * minChance} (a drafter without estimates drafts {@code k}).
   */
  default Draft draft(UeSession s, int last, int k, double minChance) {
    return draft(s, last, k);
  }

  /**
   * The likeliest token after the last one {@code s} sent ({@link UeSession#sentTokens} ends with
   * it), whose row at layer p is {@code lastRow} ([1, d]): the first draft {@link #draft} would
   * make, for {@link Lookahead}. Computes no row and leaves the session's cache as it is.
   */
  int guess(UeSession s, float[] lastRow);

  /**
   * The drafter a CLI names: {@code early-exit}, {@code lookup} (prompt lookup + early exit), or
   * {@code ngram} (prompt lookup, then the embedded default model's n-gram draft table, then early
   * exit; {@code ngram:FILE} reads the table of another model from FILE, as {@code model
   * train-ngram} writes it); {@code auto} is {@code ngram} where the embedded table was trained
   * with this model's tokenizer, else {@code early-exit}.
   */
  static Drafter named(String name, InferenceEngine engine) {
    return named(name, engine, null);
  }

  /** The names {@link #named} knows, as error messages list them. */
  String NAMES = "auto, early-exit, lookup, ngram or ngram:FILE";

  /** Whether {@link #named} knows {@code name} (a FILE of ngram:FILE is not looked at). */
  static boolean isName(String name) {
    return switch (name) {
      case "auto", "early-exit", "lookup", "ngram" -> true;
      default -> name.startsWith("ngram:");
    };
  }

  /**
   * As {@link #named(String, InferenceEngine)}; an n-gram table must also have been trained with
   * the tokenizer in {@code tokenizerJson} (null: not checked, only the vocabulary size is).
   */
  static Drafter named(String name, InferenceEngine engine, Path tokenizerJson) {
    if (name.equals("auto")) {
      // the drafter that measured best (ue-client README), where its table fits this model
      if (tokenizerJson != null) {
        try {
          return named("ngram", engine, tokenizerJson);
        } catch (IllegalArgumentException notThisModel) {
          // another vocabulary or tokenizer: no table for this model
        }
      }
      return new EarlyExitDrafter(engine);
    }
    if (name.equals("ngram") || name.startsWith("ngram:")) {
      try {
        NgramTable table =
            name.equals("ngram")
                ? NgramTable.embeddedDefault()
                : NgramTable.read(Path.of(name.substring("ngram:".length())));
        if (tokenizerJson != null) {
          table.checkTokenizer(tokenizerJson);
        }
        return new LookupDrafter(engine, table);
      } catch (IOException e) {
        throw new IllegalArgumentException("drafter " + name + ": " + e.getMessage(), e);
      }
    }
    return switch (name) {
      case "early-exit" -> new EarlyExitDrafter(engine);
      case "lookup" -> new LookupDrafter(engine);
      default ->
          throw new IllegalArgumentException("unknown drafter '" + name + "' (" + NAMES + ")");
    };
  }
}
