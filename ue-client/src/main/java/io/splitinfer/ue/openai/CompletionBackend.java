package io.splitinfer.ue.openai;

import java.io.IOException;
import java.util.List;

/**
 * What the OpenAI-compatible HTTP layer needs from the UE: the model's identity and tokenizer, and
 * one generation through the split per request. Implementations must allow concurrent {@link
 * #generate} calls (each request gets its own edge session); the HTTP layer bounds how many.
 */
public interface CompletionBackend {
  /** The model package id, listed by {@code GET /v1/models}. */
  String modelId();

  /** Longest sequence (prompt + completion) the model accepts. */
  int contextLength();

  /** Tokens in the vocabulary (prompt ids must be below it). */
  int vocabSize();

  /** Prompt ids for {@code text}, with BOS when the model has one (as {@code generate} does). */
  int[] encode(String text);

  /** Text of {@code ids} (special tokens skipped); null when the package has no tokenizer. */
  String decode(int[] ids);

  /** How chat messages become a prompt for this model. */
  ChatTemplate chatTemplate();

  /**
   * Generates through the split, calling {@code sink} for every token as it arrives. Blocks until
   * the edge ends the generation, {@code sink} returns false (the generation is cancelled), or an
   * error.
   *
   * @throws ApiError 503 when the edge is unreachable or full, 400 when it rejects the request
   * @throws IOException what {@code sink} threw (the client went away); the session is cancelled
   */
  Outcome generate(Job job, TokenSink sink) throws IOException;

  /**
   * One generation.
   *
   * @param promptIds prompt token ids
   * @param maxTokens tokens to generate at most
   * @param temperature 0 = greedy
   * @param topP nucleus mass (1 = off)
   * @param seed sampler seed
   */
  record Job(int[] promptIds, int maxTokens, float temperature, float topP, long seed) {}

  /** Receives tokens as the edge streams them. */
  @FunctionalInterface
  interface TokenSink {
    /**
     * One generated token.
     *
     * @param id token id
     * @param edgeText the text piece the edge sent with it
     * @param eos whether it is the end-of-sequence token
     * @param split the split p in force when it was generated
     * @return false to stop generating
     */
    boolean onToken(int id, String edgeText, boolean eos, int split) throws IOException;
  }

  /**
   * How a generation went.
   *
   * @param tokens tokens generated (including a final EOS)
   * @param eos whether it ended with EOS
   * @param splits the split in force from each token index on (first at 0)
   * @param timeToFirstTokenNanos from the request to the first token
   * @param decodeTokensPerSecond tokens after the first over the time from the first to the last
   */
  record Outcome(
      int tokens,
      boolean eos,
      List<SplitUse> splits,
      long timeToFirstTokenNanos,
      double decodeTokensPerSecond) {}

  /** Split p (epoch) in force from token index {@code fromToken} on. */
  record SplitUse(long fromToken, int split, long epoch) {}
}
