package io.splitinfer.ue.openai;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.splitinfer.model.tokenizer.TextTokenizer;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.SamplingParams;
import io.splitinfer.proto.v1.Token;
import io.splitinfer.ue.Drafter;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.SpecDecoder;
import io.splitinfer.ue.SplitSource;
import io.splitinfer.ue.UeClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The real backend: one {@link io.splitinfer.ue.SplitGenerator} session with the edge per request,
 * all sharing the UE's loaded model (the engine is thread-safe across caches; each session has its
 * own KV cache). The split comes from {@code splits} per request: a fixed split, or the
 * controller's latest decision, applied at the next token boundary when its epoch is newer.
 */
public final class SplitCompletionBackend implements CompletionBackend {
  private final UeClient client;
  private final TextTokenizer tokenizer;
  private final int bosTokenId;
  private final int contextLength;
  private final ChatTemplate template;
  private final Supplier<SplitSource> splits;
  private final DType wireDtype;
  private final String ueId;
  private Supplier<SpecDecoder> speculation = () -> null;
  private Drafter guesser;
  private boolean sendAhead = true;

  /**
   * @param client the UE's edge client (channel + model); owned by the caller
   * @param tokenizer the package's tokenizer, or null (prompts then must be token ids)
   * @param template chat formatting
   * @param splits a split source per request
   * @param wireDtype hidden-state dtype on the uplink
   * @param ueId UE identity sent to the edge
   */
  public SplitCompletionBackend(
      UeClient client,
      TextTokenizer tokenizer,
      ChatTemplate template,
      Supplier<SplitSource> splits,
      DType wireDtype,
      String ueId) {
    this.client = client;
    this.tokenizer = tokenizer;
    this.bosTokenId = client.model().engine().config().bosTokenId();
    this.contextLength = client.model().engine().config().maxPositions();
    this.template = template;
    this.splits = splits;
    this.wireDtype = wireDtype;
    this.ueId = ueId;
  }

  /**
   * Decodes every request speculatively with the decoder {@code decoders} gives (one per request;
   * null = one token per round trip). Greedy requests stay token for token what they were; sampled
   * ones keep their distribution (the edge's speculative sampling rule).
   */
  public SplitCompletionBackend withSpeculation(Supplier<SpecDecoder> decoders) {
    this.speculation = decoders;
    return this;
  }

  /**
   * Pipelines every request's plain decode steps with {@code guesser}'s guesses (null = off),
   * guessed rows sent ahead ({@code sendAhead}) or armed until their token arrives.
   */
  public SplitCompletionBackend withLookahead(Drafter guesser, boolean sendAhead) {
    this.guesser = guesser;
    this.sendAhead = sendAhead;
    return this;
  }

  @Override
  public String modelId() {
    return client.model().modelId();
  }

  @Override
  public int contextLength() {
    return contextLength;
  }

  @Override
  public int vocabSize() {
    return client.model().engine().config().vocabSize();
  }

  @Override
  public int[] encode(String text) {
    if (tokenizer == null) {
      throw new IllegalArgumentException(
          "this model package has no tokenizer; give the prompt as a list of token ids");
    }
    int[] ids = tokenizer.encode(text);
    if (bosTokenId < 0) {
      return ids;
    }
    int[] withBos = new int[ids.length + 1];
    withBos[0] = bosTokenId;
    System.arraycopy(ids, 0, withBos, 1, ids.length);
    return withBos;
  }

  @Override
  public String decode(int[] ids) {
    return tokenizer == null ? null : tokenizer.decode(ids);
  }

  @Override
  public ChatTemplate chatTemplate() {
    return template;
  }

  @Override
  public Outcome generate(Job job, TokenSink sink) throws IOException {
    long t0 = System.nanoTime();
    GenerateRequest req =
        new GenerateRequest(
            job.promptIds(),
            job.maxTokens(),
            SamplingParams.newBuilder()
                .setTemperature(job.temperature())
                .setTopP(job.topP() >= 1 ? 0 : job.topP())
                .setSeed(job.seed())
                .build(),
            wireDtype,
            true,
            ueId,
            0);
    SplitSource base = splits.get();
    List<SplitUse> used = new ArrayList<>();
    int[] tokens = {0};
    boolean[] eos = {false};
    long[] first = {0};
    long[] last = {0};
    // Records each split the generator applies (it polls at every step; a newer epoch switches).
    SplitSource recorded =
        step -> {
          SplitSource.Choice c = base.current(step);
          if (used.isEmpty() || c.epoch() > used.get(used.size() - 1).epoch()) {
            used.add(new SplitUse(step, c.split(), c.epoch()));
          }
          return c;
        };
    try {
      client
          .generator()
          .withSpeculation(speculation.get())
          .withLookahead(guesser, sendAhead)
          .generate(
              req,
              recorded,
              (Token t) -> {
                long now = System.nanoTime();
                if (tokens[0] == 0) {
                  first[0] = now;
                }
                last[0] = now;
                tokens[0]++;
                eos[0] = t.getEos();
                boolean go;
                try {
                  go = sink.onToken(t.getId(), t.getText(), t.getEos(), current(used));
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
                if (!go) {
                  throw new Stop();
                }
              });
    } catch (Stop s) {
      // the sink asked to stop: the generator closed (cancelled) the edge session
    } catch (UncheckedIOException e) {
      throw e.getCause();
    } catch (StatusRuntimeException e) {
      throw toApiError(e.getStatus());
    }
    double tps = tokens[0] > 1 ? (tokens[0] - 1) * 1e9 / Math.max(1, last[0] - first[0]) : 0;
    return new Outcome(tokens[0], eos[0], List.copyOf(used), first[0] - t0, tps);
  }

  private static int current(List<SplitUse> used) {
    return used.isEmpty() ? -1 : used.get(used.size() - 1).split();
  }

  /** What the edge's status means for the HTTP client. */
  static ApiError toApiError(Status s) {
    String why = s.getCode() + (s.getDescription() != null ? ": " + s.getDescription() : "");
    return switch (s.getCode()) {
      case UNAVAILABLE, DEADLINE_EXCEEDED ->
          ApiError.edgeUnavailable("the edge server is unreachable (" + why + ")");
      case RESOURCE_EXHAUSTED -> ApiError.edgeUnavailable("the edge server is full (" + why + ")");
      case INVALID_ARGUMENT, OUT_OF_RANGE ->
          ApiError.badRequest("rejected_by_edge", "the edge rejected the request (" + why + ")");
      default ->
          new ApiError(502, "api_error", "edge_error", null, "edge session failed (" + why + ")");
    };
  }

  /** Unwinds the generator when the sink stops (the generator cancels the edge session). */
  private static final class Stop extends RuntimeException {
    Stop() {
      super(null, null, false, false);
    }
  }
}
