package io.splitinfer.ue.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP layer against a scripted backend: shapes, streaming, stop strings, every error. */
class OpenAiServerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final HttpClient http = HttpClient.newHttpClient();
  private FakeBackend backend;
  private OpenAiServer server;

  @BeforeEach
  void start() throws Exception {
    backend = new FakeBackend();
    server =
        new OpenAiServer(backend, new OpenAiServer.Options(1, 4096, 7))
            .start(new InetSocketAddress("127.0.0.1", 0));
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private HttpResponse<String> post(String path, String body) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .header("Content-Type", "application/json")
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  /** The JSON payloads of an SSE body; the last entry is the literal "[DONE]" when present. */
  static List<String> events(String body) {
    List<String> out = new ArrayList<>();
    for (String block : body.split("\n\n")) {
      if (block.startsWith("data: ")) {
        out.add(block.substring(6));
      }
    }
    return out;
  }

  @Test
  void modelsListsThePackageId() throws Exception {
    HttpResponse<String> r = get("/v1/models");
    assertEquals(200, r.statusCode());
    JsonNode j = JSON.readTree(r.body());
    assertEquals("list", j.get("object").asText());
    assertEquals("fake-model", j.get("data").get(0).get("id").asText());
  }

  @Test
  void completionReturnsTextUsageAndSplits() throws Exception {
    HttpResponse<String> r =
        post("/v1/completions", "{\"model\":\"x\",\"prompt\":\"abc\",\"max_tokens\":5,\"seed\":3}");
    assertEquals(200, r.statusCode(), r.body());
    JsonNode j = JSON.readTree(r.body());
    assertEquals("text_completion", j.get("object").asText());
    assertEquals("Hello", j.get("choices").get(0).get("text").asText());
    assertEquals("length", j.get("choices").get(0).get("finish_reason").asText());
    assertEquals(4, j.get("usage").get("prompt_tokens").asInt());
    assertEquals(5, j.get("usage").get("completion_tokens").asInt());
    assertEquals(9, j.get("usage").get("total_tokens").asInt());
    assertEquals(4, j.get("splitinfer").get("splits").get(1).get("split").asInt());
    assertEquals(123.4, j.get("splitinfer").get("decode_tokens_per_second").asDouble(), 1e-9);
    assertEquals(3, j.get("splitinfer").get("seed").asLong());
    assertEquals("6@0,4@3", r.headers().firstValue("X-Splitinfer-Splits").orElseThrow());
    assertEquals("123.40", r.headers().firstValue("X-Splitinfer-Tokens-Per-Second").orElseThrow());
    assertEquals(3, backend.lastJob.seed());
  }

  @Test
  void streamSendsChunksThenDone() throws Exception {
    HttpResponse<String> r =
        post(
            "/v1/completions",
            "{\"prompt\":\"abc\",\"max_tokens\":100,\"stream\":true,"
                + "\"stream_options\":{\"include_usage\":true}}");
    assertEquals(200, r.statusCode());
    assertTrue(
        r.headers().firstValue("Content-Type").orElseThrow().startsWith("text/event-stream"));
    assertEquals("6", r.headers().firstValue("X-Splitinfer-Split").orElseThrow());
    List<String> ev = events(r.body());
    assertEquals("[DONE]", ev.get(ev.size() - 1));
    StringBuilder text = new StringBuilder();
    for (String e : ev.subList(0, ev.size() - 3)) {
      text.append(JSON.readTree(e).get("choices").get(0).get("text").asText());
    }
    assertEquals(backend.reply, text.toString());
    JsonNode last = JSON.readTree(ev.get(ev.size() - 3));
    assertEquals("stop", last.get("choices").get(0).get("finish_reason").asText()); // EOS
    assertEquals(2, last.get("splitinfer").get("splits").size());
    JsonNode usage = JSON.readTree(ev.get(ev.size() - 2));
    assertEquals(0, usage.get("choices").size());
    assertEquals(backend.reply.length() + 1, usage.get("usage").get("completion_tokens").asInt());
  }

  @Test
  void stopStringEndsTheTextAndTheGeneration() throws Exception {
    HttpResponse<String> r =
        post(
            "/v1/completions", "{\"prompt\":\"abc\",\"max_tokens\":100,\"stop\":[\"zz\",\". G\"]}");
    JsonNode j = JSON.readTree(r.body());
    assertEquals("Hello, world", j.get("choices").get(0).get("text").asText());
    assertEquals("stop", j.get("choices").get(0).get("finish_reason").asText());
    assertEquals("Hello, world. G".length(), backend.tokensConsumed);
    // Streaming: the held-back ". " of a partial match never reaches the client.
    r =
        post(
            "/v1/completions",
            "{\"prompt\":\"abc\",\"max_tokens\":100,\"stream\":true,\"stop\":\". G\"}");
    StringBuilder text = new StringBuilder();
    for (String e : events(r.body())) {
      if (!e.equals("[DONE]")) {
        text.append(JSON.readTree(e).get("choices").get(0).get("text").asText());
      }
    }
    assertEquals("Hello, world", text.toString());
  }

  @Test
  void chatUsesThePlainFormatAndStreamsDeltas() throws Exception {
    HttpResponse<String> r =
        post(
            "/v1/chat/completions",
            "{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                + "{\"role\":\"user\",\"content\":\"Hi\"}],\"stream\":true,\"max_tokens\":5}");
    assertEquals(200, r.statusCode());
    assertEquals(
        "System: Be brief.\n\nUser: Hi\n\nAssistant:", backend.decode(backend.lastJob.promptIds()));
    List<String> ev = events(r.body());
    JsonNode first = JSON.readTree(ev.get(0));
    assertEquals("chat.completion.chunk", first.get("object").asText());
    assertEquals("assistant", first.get("choices").get(0).get("delta").get("role").asText());
    StringBuilder text = new StringBuilder();
    for (String e : ev.subList(1, ev.size() - 1)) {
      text.append(JSON.readTree(e).get("choices").get(0).get("delta").path("content").asText(""));
    }
    assertEquals("Hello", text.toString());
    r = post("/v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
    JsonNode j = JSON.readTree(r.body());
    assertEquals("chat.completion", j.get("object").asText());
    assertEquals(backend.reply, j.get("choices").get(0).get("message").get("content").asText());
  }

  @Test
  void badParametersAre400WithTheParamNamed() throws Exception {
    String[][] cases = {
      {"{\"prompt\":\"a\",\"n\":2}", "n"},
      {"{\"prompt\":\"a\",\"temperature\":3}", "temperature"},
      {"{\"prompt\":\"a\",\"temperature\":\"hot\"}", "temperature"},
      {"{\"prompt\":\"a\",\"top_p\":0}", "top_p"},
      {"{\"prompt\":\"a\",\"max_tokens\":0}", "max_tokens"},
      {"{\"prompt\":\"a\",\"seed\":1.5}", "seed"},
      {"{\"prompt\":\"a\",\"stream\":\"yes\"}", "stream"},
      {"{\"prompt\":\"a\",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop"},
      {"{\"prompt\":\"a\",\"stop\":7}", "stop"},
      {"{\"max_tokens\":3}", "prompt"},
      {"{\"prompt\":\"\"}", "prompt"},
      {"{\"prompt\":{}}", "prompt"},
      {"{\"prompt\":\"" + "x".repeat(300) + "\"}", "prompt"},
      {"{\"prompt\":[1,2,1000]}", "prompt"},
      {"{\"prompt\":[1,-2]}", "prompt"},
    };
    for (String[] c : cases) {
      HttpResponse<String> r = post("/v1/completions", c[0]);
      assertEquals(400, r.statusCode(), c[0]);
      JsonNode err = JSON.readTree(r.body()).get("error");
      assertEquals("invalid_request_error", err.get("type").asText(), c[0]);
      assertEquals(c[1], err.get("param").asText(), c[0]);
      assertTrue(!err.get("message").asText().isEmpty());
    }
    for (String body : new String[] {"not json", "[1,2]", "{\"prompt\":\"a\""}) {
      HttpResponse<String> r = post("/v1/completions", body);
      assertEquals(400, r.statusCode(), body);
      assertEquals("invalid_json", JSON.readTree(r.body()).get("error").get("code").asText());
    }
    HttpResponse<String> r =
        post("/v1/chat/completions", "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}");
    assertEquals(400, r.statusCode());
    assertEquals("messages", JSON.readTree(r.body()).get("error").get("param").asText());
    assertEquals(19L, server.errorCounts().get(400));
    // Still serving.
    assertEquals(200, post("/v1/completions", "{\"prompt\":\"a\"}").statusCode());
  }

  @Test
  void aRequestBeyondTheConcurrencyLimitGets429() throws Exception {
    backend.release = new CountDownLatch(1);
    CompletableFuture<HttpResponse<String>> first =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return post("/v1/completions", "{\"prompt\":\"a\",\"max_tokens\":3}");
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            });
    assertTrue(backend.entered.await(10, TimeUnit.SECONDS));
    HttpResponse<String> second = post("/v1/completions", "{\"prompt\":\"b\"}");
    assertEquals(429, second.statusCode());
    JsonNode err = JSON.readTree(second.body()).get("error");
    assertEquals("too_many_concurrent_requests", err.get("code").asText());
    assertEquals(200, get("/v1/models").statusCode()); // not a generation: still answered
    backend.release.countDown();
    assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
    assertEquals(200, post("/v1/completions", "{\"prompt\":\"c\"}").statusCode()); // slot freed
  }

  @Test
  void edgeDownIs503EvenWhenStreaming() throws Exception {
    backend.failWith = ApiError.edgeUnavailable("the edge server is unreachable (test)");
    for (String body : new String[] {"{\"prompt\":\"a\"}", "{\"prompt\":\"a\",\"stream\":true}"}) {
      HttpResponse<String> r = post("/v1/completions", body);
      assertEquals(503, r.statusCode(), body);
      assertEquals("edge_unavailable", JSON.readTree(r.body()).get("error").get("code").asText());
    }
    backend.failWith = new IllegalStateException("boom");
    HttpResponse<String> r = post("/v1/completions", "{\"prompt\":\"a\"}");
    assertEquals(500, r.statusCode());
    assertEquals("internal_error", JSON.readTree(r.body()).get("error").get("code").asText());
    backend.failWith = null;
    assertEquals(200, post("/v1/completions", "{\"prompt\":[1,2,3]}").statusCode());
  }

  @Test
  void oversizeWrongMethodAndUnknownPath() throws Exception {
    HttpResponse<String> r = post("/v1/completions", "{\"prompt\":\"" + "x".repeat(5000) + "\"}");
    assertEquals(413, r.statusCode());
    assertEquals("request_too_large", JSON.readTree(r.body()).get("error").get("code").asText());
    assertEquals(405, get("/v1/completions").statusCode());
    assertEquals(405, post("/v1/models", "{}").statusCode());
    assertEquals(404, get("/v2/nothing").statusCode());
  }
}
