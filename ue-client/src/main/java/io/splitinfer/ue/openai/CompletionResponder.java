package io.splitinfer.ue.openai;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Writes one completion answer in OpenAI's shapes: a single JSON object, or server-sent events
 * ({@code data: {chunk}} per text delta, a final chunk with finish_reason, an optional usage chunk,
 * then {@code data: [DONE]}). Streaming headers are sent with the first text, so an error before it
 * (edge down) still gets its HTTP status. What this system adds rides along: the {@code splitinfer}
 * field (splits used, tokens/s, TTFT, seed) in the final object/chunk and the {@code
 * X-Splitinfer-*} headers.
 */
final class CompletionResponder {
  static final String SPLITS_HEADER = "X-Splitinfer-Splits";
  static final String TPS_HEADER = "X-Splitinfer-Tokens-Per-Second";
  static final String SPLIT_HEADER = "X-Splitinfer-Split";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpExchange ex;
  private final boolean chat;
  private final boolean stream;
  private final boolean includeUsage;
  private final String model;
  private final String id;
  private final long created;
  private final StringBuilder text = new StringBuilder();
  private OutputStream out;

  CompletionResponder(
      HttpExchange ex, boolean chat, CompletionParams params, String model, String id) {
    this.ex = ex;
    this.chat = chat;
    this.stream = params.stream();
    this.includeUsage = params.includeUsage();
    this.model = model;
    this.id = id;
    this.created = System.currentTimeMillis() / 1000;
  }

  /** Whether response headers went out (errors must then be sent in-stream). */
  boolean committed() {
    return out != null;
  }

  /** New text generated under split {@code split}. */
  void delta(String piece, int split) throws IOException {
    if (piece.isEmpty()) {
      return;
    }
    text.append(piece);
    if (stream) {
      commitStream(split);
      event(chunk(piece, null));
    }
  }

  /** Ends the answer. */
  void finish(
      String finishReason,
      int promptTokens,
      int completionTokens,
      CompletionBackend.Outcome o,
      long seed)
      throws IOException {
    ObjectNode usage = JSON.createObjectNode();
    usage.put("prompt_tokens", promptTokens);
    usage.put("completion_tokens", completionTokens);
    usage.put("total_tokens", promptTokens + completionTokens);
    ObjectNode info = splitInfo(o, seed);
    if (stream) {
      commitStream(o.splits().isEmpty() ? -1 : o.splits().get(0).split());
      ObjectNode last = chunk(null, finishReason);
      last.set("splitinfer", info);
      event(last);
      if (includeUsage) {
        ObjectNode u = base(chat ? "chat.completion.chunk" : "text_completion");
        u.putArray("choices");
        u.set("usage", usage);
        event(u);
      }
      out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
      out.close();
      return;
    }
    ObjectNode body = base(chat ? "chat.completion" : "text_completion");
    ObjectNode choice = body.putArray("choices").addObject();
    choice.put("index", 0);
    if (chat) {
      ObjectNode msg = choice.putObject("message");
      msg.put("role", "assistant");
      msg.put("content", text.toString());
    } else {
      choice.put("text", text.toString());
    }
    choice.putNull("logprobs");
    choice.put("finish_reason", finishReason);
    body.set("usage", usage);
    body.set("splitinfer", info);
    ex.getResponseHeaders().set(SPLITS_HEADER, splitsHeader(o));
    ex.getResponseHeaders()
        .set(TPS_HEADER, String.format(Locale.ROOT, "%.2f", o.decodeTokensPerSecond()));
    OpenAiServer.sendJson(ex, 200, body);
  }

  /**
   * Answers {@code e}: its HTTP status before anything was sent; once streaming began, one {@code
   * data: {"error": ...}} event, then the stream ends (without {@code [DONE]}).
   */
  void fail(ApiError e) throws IOException {
    if (out == null) {
      OpenAiServer.sendJson(ex, e.status(), OpenAiServer.errorBody(e));
      return;
    }
    ObjectNode err = OpenAiServer.errorBody(e);
    out.write(("data: " + JSON.writeValueAsString(err) + "\n\n").getBytes(StandardCharsets.UTF_8));
    out.close();
  }

  static String splitsHeader(CompletionBackend.Outcome o) {
    return o.splits().stream()
        .map(s -> s.split() + "@" + s.fromToken())
        .collect(Collectors.joining(","));
  }

  private ObjectNode splitInfo(CompletionBackend.Outcome o, long seed) {
    ObjectNode info = JSON.createObjectNode();
    ArrayNode splits = info.putArray("splits");
    for (CompletionBackend.SplitUse s : o.splits()) {
      ObjectNode n = splits.addObject();
      n.put("split", s.split());
      n.put("from_token", s.fromToken());
      n.put("epoch", s.epoch());
    }
    info.put("decode_tokens_per_second", round2(o.decodeTokensPerSecond()));
    info.put("time_to_first_token_ms", round2(o.timeToFirstTokenNanos() / 1e6));
    info.put("seed", seed);
    return info;
  }

  private static double round2(double v) {
    return Math.round(v * 100) / 100.0;
  }

  private void commitStream(int split) throws IOException {
    if (out != null) {
      return;
    }
    ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
    ex.getResponseHeaders().set("Cache-Control", "no-cache");
    if (split >= 0) {
      ex.getResponseHeaders().set(SPLIT_HEADER, Integer.toString(split));
    }
    ex.sendResponseHeaders(200, 0);
    out = ex.getResponseBody();
    if (chat) {
      ObjectNode first = chunk(null, null);
      ((ObjectNode) first.get("choices").get(0).get("delta")).put("content", "");
      event(first);
    }
  }

  private ObjectNode base(String object) {
    ObjectNode n = JSON.createObjectNode();
    n.put("id", id);
    n.put("object", object);
    n.put("created", created);
    n.put("model", model);
    return n;
  }

  /** A stream chunk with {@code piece} (null: none) and {@code finishReason} (null: not yet). */
  private ObjectNode chunk(String piece, String finishReason) {
    ObjectNode c = base(chat ? "chat.completion.chunk" : "text_completion");
    ObjectNode choice = c.putArray("choices").addObject();
    choice.put("index", 0);
    if (chat) {
      ObjectNode delta = choice.putObject("delta");
      if (piece != null) {
        delta.put("content", piece);
      } else if (finishReason == null) {
        delta.put("role", "assistant");
      }
    } else {
      choice.put("text", piece == null ? "" : piece);
    }
    choice.putNull("logprobs");
    if (finishReason == null) {
      choice.putNull("finish_reason");
    } else {
      choice.put("finish_reason", finishReason);
    }
    return c;
  }

  private void event(ObjectNode data) throws IOException {
    out.write(("data: " + JSON.writeValueAsString(data) + "\n\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }
}
