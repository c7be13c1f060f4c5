package io.splitinfer.ue.openai;

import java.io.IOException;
import java.util.function.Consumer;

/**
 * One completion request from validated parameters to the last byte: generates through the backend,
 * turns tokens into text deltas (stop strings, EOS), and hands them to the responder; errors become
 * the right HTTP status, or an in-stream error event once streaming began.
 */
final class CompletionRun {
  private final CompletionBackend backend;
  private final CompletionParams params;
  private final long seed;

  CompletionRun(CompletionBackend backend, CompletionParams params, long seed) {
    this.backend = backend;
    this.params = params;
    this.seed = seed;
  }

  /** Runs the generation; {@code onError} counts error answers. */
  void run(CompletionResponder out, Consumer<ApiError> onError) throws IOException {
    boolean hasTokenizer = backend.decode(new int[0]) != null;
    TextStream ts = new TextStream(hasTokenizer ? backend::decode : null, params.stop());
    int[] lastSplit = {-1};
    CompletionBackend.Job job =
        new CompletionBackend.Job(
            params.promptIds(), params.maxTokens(), params.temperature(), params.topP(), seed);
    try {
      CompletionBackend.Outcome o =
          backend.generate(
              job,
              (id, piece, eos, split) -> {
                lastSplit[0] = split;
                if (!eos) {
                  out.delta(ts.add(id, piece), split);
                }
                return !ts.stopped();
              });
      out.delta(ts.finish(), lastSplit[0]);
      String reason = ts.stopped() || o.eos() ? "stop" : "length";
      out.finish(reason, params.promptIds().length, o.tokens(), o, seed);
    } catch (ApiError e) {
      onError.accept(e);
      out.fail(e);
    } catch (RuntimeException e) {
      ApiError internal =
          new ApiError(500, "api_error", "internal_error", null, "generation failed: " + e);
      onError.accept(internal);
      out.fail(internal);
    }
  }
}
