package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.model.draft.NgramTable;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.pkg.DefaultModel;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.tokenizer.TextTokenizer;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.Registered;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import io.splitinfer.proto.v1.WatchSplitRequest;
import io.splitinfer.ue.Drafter;
import io.splitinfer.ue.LookupDrafter;
import io.splitinfer.ue.SpecDecoder;
import io.splitinfer.ue.SpecK;
import io.splitinfer.ue.SplitSource;
import io.splitinfer.ue.UeClient;
import io.splitinfer.ue.UeClientMain;
import io.splitinfer.ue.UeModel;
import io.splitinfer.ue.openai.ChatTemplate;
import io.splitinfer.ue.openai.ControllerSplits;
import io.splitinfer.ue.openai.OpenAiServer;
import io.splitinfer.ue.openai.SplitCompletionBackend;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The UE's OpenAI-compatible endpoint through the real split: the embedded default model, an edge
 * server over loopback TCP, the UE's {@link OpenAiServer} on a {@link SplitCompletionBackend}. The
 * official {@code openai} npm client (run with node) streams a completion and a chat completion;
 * both equal {@code ue-client generate} with the same prompt, split, seed and temperature 0.
 * Skipped with a message only where node or npm is missing.
 */
class OpenAiEndpointTest {
  static final int SPLIT = 5;
  static final int MAX_TOKENS = 24;
  static final String PROMPT = "The people of the United States";
  static final String USER = "What is liberty?";
  private static final ObjectMapper JSON = new ObjectMapper();

  static ModelPackage pkg;
  static InferenceEngine engine;
  static TextTokenizer tokenizer;
  static EdgeServer edge;
  static ManagedChannel channel;

  @BeforeAll
  static void startEdge() throws IOException {
    pkg = DefaultModel.forProcess().locate();
    engine = pkg.openEngine(OnnxOptions.defaults().withThreads(1, 1));
    tokenizer = pkg.openTokenizer();
    EdgeMetrics metrics = new EdgeMetrics(new SimpleMeterRegistry());
    edge =
        new EdgeServer(
                new SplitInferenceService(
                    new EdgeModel(pkg.id(), pkg.sha256(), engine, tokenizer::piece),
                    EdgeConfig.defaults(),
                    metrics),
                metrics)
            .start(new InetSocketAddress("127.0.0.1", 0));
    channel = NettyChannelBuilder.forAddress("127.0.0.1", edge.port()).usePlaintext().build();
  }

  @AfterAll
  static void stopEdge() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    edge.close();
    tokenizer.close();
    engine.close();
  }

  /** The UE endpoint on {@code edgeChannel} at a fixed split. */
  static OpenAiServer ueServer(ManagedChannel edgeChannel, int maxConcurrent) throws IOException {
    return ueServer(edgeChannel, maxConcurrent, () -> SplitSource.fixed(SPLIT));
  }

  static OpenAiServer ueServer(
      ManagedChannel edgeChannel, int maxConcurrent, Supplier<SplitSource> splits)
      throws IOException {
    return ueServer(edgeChannel, maxConcurrent, splits, () -> null);
  }

  static OpenAiServer ueServer(
      ManagedChannel edgeChannel,
      int maxConcurrent,
      Supplier<SplitSource> splits,
      Supplier<SpecDecoder> speculation)
      throws IOException {
    return ueServer(edgeChannel, maxConcurrent, splits, speculation, null);
  }

  static OpenAiServer ueServer(
      ManagedChannel edgeChannel,
      int maxConcurrent,
      Supplier<SplitSource> splits,
      Supplier<SpecDecoder> speculation,
      Drafter guesser)
      throws IOException {
    SplitCompletionBackend backend =
        new SplitCompletionBackend(
                new UeClient(edgeChannel, new UeModel(pkg.id(), pkg.sha256(), engine)),
                tokenizer,
                ChatTemplate.fromTokenizerConfig(pkg.file("tokenizer_config.json").orElse(null)),
                splits,
                DType.DTYPE_F32,
                "ue-http")
            .withSpeculation(speculation)
            .withLookahead(guesser, true);
    return new OpenAiServer(backend, new OpenAiServer.Options(maxConcurrent, 1 << 20, 0))
        .start(new InetSocketAddress("127.0.0.1", 0));
  }

  /**
   * Three concurrent greedy completions of PROMPT on {@code ue}, the third with the stop string
   * {@code stop}; their first choices, in order, each checked for status 200.
   */
  static List<JsonNode> twoFullAndOneStopped(OpenAiServer ue, String stop) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    URI uri = URI.create("http://127.0.0.1:" + ue.port() + "/v1/completions");
    List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
    for (String s : new String[] {null, null, stop}) {
      com.fasterxml.jackson.databind.node.ObjectNode body =
          JSON.createObjectNode()
              .put("prompt", PROMPT)
              .put("max_tokens", MAX_TOKENS)
              .put("temperature", 0);
      if (s != null) {
        body.put("stop", s);
      }
      all.add(
          http.sendAsync(
              HttpRequest.newBuilder(uri)
                  .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body)))
                  .build(),
              HttpResponse.BodyHandlers.ofString()));
    }
    List<JsonNode> choices = new ArrayList<>();
    for (CompletableFuture<HttpResponse<String>> f : all) {
      HttpResponse<String> r = f.get(2, TimeUnit.MINUTES);
      assertEquals(200, r.statusCode(), r.body());
      choices.add(JSON.readTree(r.body()).get("choices").get(0));
    }
    return choices;
  }

  /** What {@code ue-client generate} prints as the generated text for {@code prompt}. */
  static String generateCli(String prompt) {
    return generateCli(prompt, MAX_TOKENS);
  }

  static String generateCli(String prompt, int maxTokens) {
    PrintStream old = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int rc;
    try {
      System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
      rc =
          new CommandLine(new UeClientMain())
              .execute(
                  "generate",
                  "--plaintext",
                  "--edge=127.0.0.1:" + edge.port(),
                  "--split=" + SPLIT,
                  "--prompt=" + prompt,
                  "--max-tokens=" + maxTokens,
                  "--temperature=0",
                  "--seed=1",
                  "--threads=1");
    } finally {
      System.setOut(old);
    }
    String out = buf.toString(StandardCharsets.UTF_8);
    assertEquals(0, rc, out);
    int end = out.indexOf("\n--\n tokens ");
    assertTrue(end >= 0, out);
    return out.substring(0, end);
  }

  @Test
  void officialOpenAiClientStreamsWhatGenerateGenerates() throws Exception {
    Path dir = Path.of("target", "openai-node").toAbsolutePath();
    Assumptions.assumeTrue(
        runs("node", "--version") && runs("npm", "--version"),
        "node and npm are not installed: skipping the official OpenAI client test");
    Files.createDirectories(dir);
    for (String f : List.of("package.json", "stream.js")) {
      try (InputStream in = getClass().getResourceAsStream("/openai-node/" + f)) {
        Files.copy(in, dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
      }
    }
    if (!Files.isDirectory(dir.resolve("node_modules/openai"))) {
      Process npm =
          new ProcessBuilder(
                  "npm", "install", "--no-audit", "--no-fund", "--prefix", dir.toString())
              .redirectErrorStream(true)
              .start();
      String log = new String(npm.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(npm.waitFor(5, TimeUnit.MINUTES), "npm install timed out");
      assertEquals(0, npm.exitValue(), "npm install failed:\n" + log);
    }
    String wantCompletion = generateCli(PROMPT);
    String wantChat = generateCli("User: " + USER + "\n\nAssistant:");
    assertFalse(wantCompletion.isEmpty());
    try (OpenAiServer ue = ueServer(channel, 2)) {
      Process node =
          new ProcessBuilder(
                  "node",
                  dir.resolve("stream.js").toString(),
                  "http://127.0.0.1:" + ue.port() + "/v1",
                  pkg.id(),
                  PROMPT,
                  USER,
                  Integer.toString(MAX_TOKENS))
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .start();
      String out = new String(node.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(node.waitFor(2, TimeUnit.MINUTES), "node timed out");
      assertEquals(0, node.exitValue(), out);
      JsonNode r = JSON.readTree(out);
      assertEquals(wantCompletion, r.get("completion").asText());
      assertEquals(wantChat, r.get("chat").asText());
      assertEquals(SPLIT, r.get("splitinfer").get("splits").get(0).get("split").asInt());
      assertTrue(r.get("splitinfer").get("decode_tokens_per_second").asDouble() > 0);
      assertEquals(400, r.get("badParamStatus").asInt());
    }
  }

  @Test
  void concurrentRequestsShareTheModelWithTheirOwnSessions() throws Exception {
    String want = generateCli(PROMPT);
    HttpClient http = HttpClient.newHttpClient();
    try (OpenAiServer ue = ueServer(channel, 2)) {
      HttpRequest req =
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ue.port() + "/v1/completions"))
              .POST(
                  HttpRequest.BodyPublishers.ofString(
                      JSON.writeValueAsString(
                          JSON.createObjectNode()
                              .put("prompt", PROMPT)
                              .put("max_tokens", MAX_TOKENS)
                              .put("temperature", 0))))
              .build();
      List<CompletableFuture<HttpResponse<String>>> all =
          List.of(
              http.sendAsync(req, HttpResponse.BodyHandlers.ofString()),
              http.sendAsync(req, HttpResponse.BodyHandlers.ofString()));
      for (CompletableFuture<HttpResponse<String>> f : all) {
        HttpResponse<String> r = f.get(2, TimeUnit.MINUTES);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(want, JSON.readTree(r.body()).get("choices").get(0).get("text").asText());
        assertEquals(SPLIT + "@0", r.headers().firstValue("X-Splitinfer-Splits").orElseThrow());
      }
    }
  }

  @Test
  void speculativeRequestsGiveTheSameTextAndStopMidRound() throws Exception {
    String want = generateCli(PROMPT);
    String stop = want.substring(want.length() / 2, want.length() / 2 + 4);
    // one drafter shared by concurrent requests (as serve does), a decoder of its own per request
    Drafter drafter = new LookupDrafter(engine, NgramTable.embeddedDefault());
    List<SpecDecoder> used = new java.util.concurrent.CopyOnWriteArrayList<>();
    Supplier<SpecDecoder> decoders =
        () -> {
          SpecDecoder d = new SpecDecoder(drafter, new SpecK(4, false));
          used.add(d);
          return d;
        };
    try (OpenAiServer ue = ueServer(channel, 3, () -> SplitSource.fixed(SPLIT), decoders)) {
      List<JsonNode> choices = twoFullAndOneStopped(ue, stop);
      for (int i = 0; i < choices.size(); i++) {
        JsonNode choice = choices.get(i);
        String expected = i < 2 ? want : want.substring(0, want.indexOf(stop));
        assertEquals(expected, choice.get("text").asText(), "request " + i);
        assertEquals(i < 2 ? "length" : "stop", choice.get("finish_reason").asText());
      }
    }
    assertEquals(3, used.size());
    for (SpecDecoder d : used) {
      assertTrue(d.stats().rounds() > 0, "every request decoded speculatively");
    }
    assertTrue(
        used.stream().mapToLong(d -> d.stats().accepted()).sum() > 0,
        "the n-gram table's drafts were accepted somewhere");
  }

  /**
   * serve --lookahead: three concurrent requests share one guesser (each generation its own
   * Lookahead); the texts are generate's, one cut by a stop string while a guessed row may be
   * armed, and the edge ends every session.
   */
  @Test
  void lookaheadRequestsGiveTheSameTextAndStopMidStream() throws Exception {
    String want = generateCli(PROMPT);
    String stop = want.substring(want.length() / 2, want.length() / 2 + 4);
    Drafter guesser = new LookupDrafter(engine, NgramTable.embeddedDefault());
    try (OpenAiServer ue =
        ueServer(channel, 3, () -> SplitSource.fixed(SPLIT), () -> null, guesser)) {
      List<JsonNode> choices = twoFullAndOneStopped(ue, stop);
      for (int i = 0; i < choices.size(); i++) {
        JsonNode choice = choices.get(i);
        String expected = i < 2 ? want : want.substring(0, want.indexOf(stop));
        assertEquals(expected, choice.get("text").asText(), "request " + i);
      }
    }
    ValidationTest.waitFor(() -> edge.service().liveSessions() == 0);
  }

  @Test
  void aStopStringCancelsTheEdgeSessionAndTheNextRequestIsServed() throws Exception {
    String want = generateCli(PROMPT);
    String stop = want.substring(want.length() / 2, want.length() / 2 + 4);
    HttpClient http = HttpClient.newHttpClient();
    try (OpenAiServer ue = ueServer(channel, 1)) {
      for (String s : new String[] {stop, "no such text"}) {
        String body =
            JSON.writeValueAsString(
                JSON.createObjectNode()
                    .put("prompt", PROMPT)
                    .put("max_tokens", MAX_TOKENS)
                    .put("temperature", 0)
                    .put("stop", s));
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + ue.port() + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(body))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode choice = JSON.readTree(r.body()).get("choices").get(0);
        int cut = want.indexOf(s);
        assertEquals(cut >= 0 ? want.substring(0, cut) : want, choice.get("text").asText());
        assertEquals(cut >= 0 ? "stop" : "length", choice.get("finish_reason").asText());
      }
    }
  }

  @Test
  void anUnreachableEdgeIs503AndTheEndpointKeepsServing() throws Exception {
    int closed;
    try (ServerSocket s = new ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    ManagedChannel down =
        NettyChannelBuilder.forAddress("127.0.0.1", closed).usePlaintext().build();
    HttpClient http = HttpClient.newHttpClient();
    try (OpenAiServer ue = ueServer(down, 1)) {
      for (boolean stream : new boolean[] {false, true}) {
        HttpResponse<String> r =
            http.send(
                HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + ue.port() + "/v1/completions"))
                    .POST(
                        HttpRequest.BodyPublishers.ofString(
                            "{\"prompt\":\"Hello\",\"stream\":" + stream + "}"))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(503, r.statusCode(), r.body());
        JsonNode err = JSON.readTree(r.body()).get("error");
        assertEquals("edge_unavailable", err.get("code").asText());
        assertTrue(err.get("message").asText().contains("unreachable"), r.body());
      }
      assertEquals(2L, ue.errorCounts().get(503));
      HttpResponse<String> models =
          http.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ue.port() + "/v1/models"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(200, models.statusCode());
      assertTrue(models.body().contains(pkg.id()));
    } finally {
      down.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void aControllerDecisionMovesTheSplitMidStream() throws Exception {
    int maxTokens = 64;
    String want = generateCli(PROMPT, maxTokens);
    FakeController fake = new FakeController();
    String name = "ctl-" + UUID.randomUUID();
    Server ctlServer = InProcessServerBuilder.forName(name).addService(fake).build().start();
    ManagedChannel ctl = InProcessChannelBuilder.forName(name).build();
    UeClient client = new UeClient(channel, new UeModel(pkg.id(), pkg.sha256(), engine));
    try (ControllerSplits splits = new ControllerSplits(client, ctl, "ue-ctl", "edge-0", 6);
        OpenAiServer ue = ueServer(channel, 1, splits.start())) {
      StreamObserver<SplitDecision> watch = fake.watch.get(30, TimeUnit.SECONDS);
      for (int i = 0; i < 200 && !splits.registered(); i++) {
        Thread.sleep(50); // the registrar thread publishes the source right after WatchSplit
      }
      assertTrue(splits.registered());
      String body =
          "{\"prompt\":\""
              + PROMPT
              + "\",\"max_tokens\":"
              + maxTokens
              + ",\"temperature\":0,\"stream\":true}";
      HttpResponse<InputStream> r =
          HttpClient.newHttpClient()
              .send(
                  HttpRequest.newBuilder(
                          URI.create("http://127.0.0.1:" + ue.port() + "/v1/completions"))
                      .POST(HttpRequest.BodyPublishers.ofString(body))
                      .build(),
                  HttpResponse.BodyHandlers.ofInputStream());
      assertEquals("5", r.headers().firstValue("X-Splitinfer-Split").orElseThrow());
      StringBuilder text = new StringBuilder();
      JsonNode info = null;
      try (BufferedReader in =
          new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
        boolean pushed = false;
        for (String line; (line = in.readLine()) != null; ) {
          if (!line.startsWith("data: {")) {
            continue;
          }
          JsonNode chunk = JSON.readTree(line.substring(6));
          text.append(chunk.get("choices").get(0).get("text").asText());
          if (chunk.has("splitinfer")) {
            info = chunk.get("splitinfer");
          }
          if (!pushed) { // the first token is out: the controller moves the split
            watch.onNext(
                SplitDecision.newBuilder().setUeId("ue-ctl").setSplit(3).setEpoch(2).build());
            pushed = true;
          }
        }
      }
      assertEquals(want, text.toString());
      assertEquals(2, info.get("splits").size(), info.toString());
      assertEquals(5, info.get("splits").get(0).get("split").asInt());
      assertEquals(3, info.get("splits").get(1).get("split").asInt());
      assertEquals(2, info.get("splits").get(1).get("epoch").asInt());
      assertTrue(info.get("splits").get(1).get("from_token").asInt() >= 1);
    } finally {
      ctl.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      ctlServer.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** Registers the UE at split 5 (epoch 1) and hands the test the UE's WatchSplit stream. */
  static final class FakeController extends SplitControllerGrpc.SplitControllerImplBase {
    final CompletableFuture<StreamObserver<SplitDecision>> watch = new CompletableFuture<>();

    @Override
    public void registerUe(UeRegistration req, StreamObserver<Registered> out) {
      out.onNext(
          Registered.newBuilder()
              .setId(req.getUeId())
              .setDecision(
                  SplitDecision.newBuilder().setUeId(req.getUeId()).setSplit(5).setEpoch(1))
              .build());
      out.onCompleted();
    }

    @Override
    public void watchSplit(WatchSplitRequest req, StreamObserver<SplitDecision> out) {
      watch.complete(out);
    }
  }

  private static boolean runs(String... cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }
}
