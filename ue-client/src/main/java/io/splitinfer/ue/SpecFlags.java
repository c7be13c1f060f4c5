package io.splitinfer.ue;

import picocli.CommandLine.Option;

/**
 * Speculative decoding flags of the commands that generate ({@code generate}, {@code serve}): k,
 * adaptive k, the drafter, and lookahead (which guesses with the same drafter). {@link #check}
 * refuses bad values before anything is loaded; {@link #drafter} builds the drafter once (it is
 * stateless and may serve concurrent generations); {@link #decoder} gives each generation its own
 * {@link SpecDecoder} (its k and statistics).
 */
public final class SpecFlags {
  @Option(
      names = "--spec-k",
      defaultValue = "0",
      description = "Speculative decoding: draft k tokens per round trip (0 = off).")
  int k;

  @Option(
      names = "--spec-adaptive",
      defaultValue = "false",
      description = "Adapt k within [1, --spec-k] by acceptance.")
  boolean adaptive;

  @Option(
      names = "--spec-min-chance",
      defaultValue = "0",
      description =
          "Draft fewer than --spec-k tokens where the drafter estimates that the chance of all of"
              + " a round's drafts being accepted would fall below this (the ngram drafter's table"
              + " shares; 0 = always --spec-k).")
  double minChance;

  @Option(
      names = "--drafter",
      defaultValue = "auto",
      description =
          "early-exit (layers 1..p + head), lookup (prompt lookup, early exit else), ngram"
              + " (prompt lookup, the default model's n-gram draft table, early exit else;"
              + " ngram:FILE for another model's table) or auto (ngram where the embedded table"
              + " fits the model's tokenizer, else early-exit).")
  String drafter;

  @Option(
      names = "--lookahead",
      defaultValue = "false",
      description =
          "Pipelined decoding (when --spec-k is 0): while the edge computes a token, the UE runs"
              + " its layers over its guess of it (the --drafter's first draft), so a right guess"
              + " takes the UE's compute off that step. The tokens are the same.")
  boolean lookahead;

  @Option(
      names = "--send-ahead",
      negatable = true,
      defaultValue = "true",
      fallbackValue = "true",
      description =
          "With --lookahead or --spec-k: send the next step before the edge's answer arrives, as a"
              + " conditional message the edge runs only if its answer is the guess (lookahead: the"
              + " guessed row; speculation: the next round, on the guess that this one accepts"
              + " every draft). A right guess saves a round trip, a wrong one costs its uplink"
              + " bytes. Never sent to an edge without conditional rows; --no-send-ahead: a"
              + " lookahead row leaves when its token arrives.")
  boolean sendAhead;

  /** Refuses a negative k or an unknown drafter name (exit 2, before anything is loaded). */
  void check() {
    if (k < 0) {
      throw new CliErrors.Refused("--spec-k must be >= 0, got " + k);
    }
    if (!SpecK.isChance(minChance)) {
      throw new CliErrors.Refused("--spec-min-chance must be in [0, 1), got " + minChance);
    }
    if (!Drafter.isName(drafter)) {
      throw new CliErrors.Refused("--drafter must be " + Drafter.NAMES + ", got " + drafter);
    }
    if (drafter.startsWith("ngram:")
        && !java.nio.file.Files.isRegularFile(java.nio.file.Path.of(drafter.substring(6)))) {
      throw new CliErrors.Refused(
          "--drafter " + drafter + ": no such n-gram draft table file " + drafter.substring(6));
    }
  }

  /**
   * The drafter for {@code m}, or null when neither speculation nor lookahead is on; throws
   * CliErrors.Refused for a table that is unreadable or made for another vocabulary or tokenizer.
   */
  Drafter drafter(LoadedModel m) {
    if (k == 0 && !lookahead) {
      return null;
    }
    return build(m, drafter, "");
  }

  /**
   * {@code m}'s drafter {@code name} ({@link LoadedModel#drafter}), with a table that is unreadable
   * or made for another vocabulary or tokenizer refused (exit 2) as {@code prefix} + the reason:
   * the one way generate, serve, bench and spec-bench build a drafter from a flag.
   */
  static Drafter build(LoadedModel m, String name, String prefix) {
    try {
      return m.drafter(name);
    } catch (IllegalArgumentException e) {
      throw new CliErrors.Refused(prefix + e.getMessage());
    }
  }

  /** A decoder of its own for one generation with {@code drafter}, or null (off). */
  SpecDecoder decoder(Drafter d) {
    return d == null || k == 0
        ? null
        : new SpecDecoder(d, new SpecK(k, adaptive, minChance), sendAhead);
  }

  /** The guesser of {@link Lookahead}: {@code d} when lookahead is on (and k is 0), else null. */
  Drafter guesser(Drafter d) {
    return lookahead && k == 0 ? d : null;
  }

  /** Whether the next step goes out ahead of the edge's answer (--send-ahead). */
  boolean sendAhead() {
    return sendAhead;
  }
}
