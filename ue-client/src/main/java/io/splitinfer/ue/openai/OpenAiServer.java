package io.splitinfer.ue.openai;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The UE's OpenAI-compatible HTTP endpoint on the JDK's {@code com.sun.net.httpserver}: {@code GET
 * /v1/models}, {@code POST /v1/completions}, {@code POST /v1/chat/completions}. A small lifecycle
 * wrapper: the constructor does no I/O, {@link #start} binds the given address only, {@link #close}
 * stops. At most {@code maxConcurrent} completions run at once (the next gets 429); bodies over
 * {@code maxBodyBytes} get 413. Every error is an OpenAI-style JSON {@code error} object and is
 * counted by status ({@link #errorCounts}).
 */
public final class OpenAiServer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(OpenAiServer.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Server settings.
   *
   * @param maxConcurrent completions generating at once; more get 429
   * @param maxBodyBytes largest request body accepted
   * @param seed seeds the per-request sampler seeds of requests that give none
   */
  public record Options(int maxConcurrent, int maxBodyBytes, long seed) {
    public Options {
      if (maxConcurrent < 1 || maxBodyBytes < 1) {
        throw new IllegalArgumentException("maxConcurrent and maxBodyBytes must be >= 1");
      }
    }

    public static Options defaults() {
      return new Options(4, 1 << 20, 0);
    }
  }

  private final CompletionBackend backend;
  private final Options options;
  private final Semaphore slots;
  private final SplittableRandom seeds;
  private final Map<Integer, AtomicLong> errors = new ConcurrentHashMap<>();
  private HttpServer http;
  private ExecutorService executor;

  public OpenAiServer(CompletionBackend backend, Options options) {
    this.backend = backend;
    this.options = options;
    this.slots = new Semaphore(options.maxConcurrent());
    this.seeds = new SplittableRandom(options.seed());
  }

  /** Binds {@code address} and starts serving. */
  public OpenAiServer start(InetSocketAddress address) throws IOException {
    http = HttpServer.create(address, 64);
    // Threads beyond the generation slots answer /v1/models and 429s while all slots stream.
    executor = Executors.newFixedThreadPool(options.maxConcurrent() + 4, daemonThreads());
    http.setExecutor(executor);
    http.createContext("/v1/models", this::models);
    http.createContext("/v1/completions", ex -> completion(ex, false));
    http.createContext("/v1/chat/completions", ex -> completion(ex, true));
    http.createContext(
        "/",
        ex ->
            fail(
                ex,
                new ApiError(
                    404,
                    "invalid_request_error",
                    "not_found",
                    null,
                    "no route " + ex.getRequestURI().getPath())));
    http.start();
    log.info("OpenAI-compatible endpoint on http://{}:{}/v1", address.getHostString(), port());
    return this;
  }

  public int port() {
    return http.getAddress().getPort();
  }

  /** Error answers sent so far, by HTTP status. */
  public Map<Integer, Long> errorCounts() {
    Map<Integer, Long> m = new java.util.TreeMap<>();
    errors.forEach((k, v) -> m.put(k, v.get()));
    return m;
  }

  @Override
  public void close() {
    if (http != null) {
      http.stop(0);
      executor.shutdownNow();
      try {
        executor.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void models(HttpExchange ex) throws IOException {
    try (ex) {
      if (!ex.getRequestURI().getPath().equals("/v1/models")) {
        fail(
            ex,
            new ApiError(
                404,
                "invalid_request_error",
                "model_not_found",
                "model",
                "no model " + ex.getRequestURI().getPath().substring("/v1/models".length())));
        return;
      }
      if (!requireMethod(ex, "GET")) {
        return;
      }
      ObjectNode body = JSON.createObjectNode();
      body.put("object", "list");
      ObjectNode m = body.putArray("data").addObject();
      m.put("id", backend.modelId());
      m.put("object", "model");
      m.put("created", 0);
      m.put("owned_by", "splitinfer");
      sendJson(ex, 200, body);
    }
  }

  private void completion(HttpExchange ex, boolean chat) throws IOException {
    try (ex) {
      if (!requireMethod(ex, "POST")) {
        return;
      }
      byte[] body = readBody(ex);
      if (body == null) {
        return;
      }
      CompletionParams params;
      try {
        params = CompletionParams.parse(body, chat, backend);
      } catch (ApiError e) {
        fail(ex, e);
        return;
      } catch (IllegalArgumentException e) {
        fail(ex, ApiError.badRequest("invalid_value", e.getMessage()));
        return;
      }
      if (!slots.tryAcquire()) {
        fail(
            ex,
            new ApiError(
                429,
                "rate_limit_exceeded",
                "too_many_concurrent_requests",
                null,
                "this UE is generating "
                    + options.maxConcurrent()
                    + " completions already (--max-concurrent); retry later"));
        return;
      }
      try {
        new CompletionRun(backend, params, seedFor(params))
            .run(
                new CompletionResponder(
                    ex,
                    chat,
                    params,
                    backend.modelId(),
                    (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID()),
                this::count);
      } finally {
        slots.release();
      }
    } catch (IOException e) {
      log.debug("client went away: {}", e.toString());
    }
  }

  private long seedFor(CompletionParams p) {
    if (p.seed() != null) {
      return p.seed();
    }
    synchronized (seeds) {
      return seeds.nextLong();
    }
  }

  /** The body, or null after answering 413 when it exceeds the limit. */
  private byte[] readBody(HttpExchange ex) throws IOException {
    String declared = ex.getRequestHeaders().getFirst("Content-Length");
    if (declared != null && parseLong(declared) > options.maxBodyBytes()) {
      fail(ex, tooLarge());
      return null;
    }
    try (InputStream in = ex.getRequestBody()) {
      byte[] b = in.readNBytes(options.maxBodyBytes() + 1);
      if (b.length > options.maxBodyBytes()) {
        fail(ex, tooLarge());
        return null;
      }
      return b;
    }
  }

  private ApiError tooLarge() {
    return new ApiError(
        413,
        "invalid_request_error",
        "request_too_large",
        null,
        "request body over " + options.maxBodyBytes() + " bytes");
  }

  private static long parseLong(String s) {
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private boolean requireMethod(HttpExchange ex, String method) throws IOException {
    if (ex.getRequestMethod().equalsIgnoreCase(method)) {
      return true;
    }
    ex.getResponseHeaders().set("Allow", method);
    fail(
        ex,
        new ApiError(
            405,
            "invalid_request_error",
            "method_not_allowed",
            null,
            ex.getRequestMethod() + " not allowed here; use " + method));
    return false;
  }

  private void count(ApiError e) {
    errors.computeIfAbsent(e.status(), k -> new AtomicLong()).incrementAndGet();
    if (e.status() >= 500) {
      log.warn("{} {}: {}", e.status(), e.code(), e.getMessage());
    }
  }

  private void fail(HttpExchange ex, ApiError e) throws IOException {
    count(e);
    sendJson(ex, e.status(), errorBody(e));
  }

  static ObjectNode errorBody(ApiError e) {
    ObjectNode body = JSON.createObjectNode();
    ObjectNode err = body.putObject("error");
    err.put("message", e.getMessage());
    err.put("type", e.type());
    if (e.param() == null) {
      err.putNull("param");
    } else {
      err.put("param", e.param());
    }
    err.put("code", e.code());
    return body;
  }

  static void sendJson(HttpExchange ex, int status, ObjectNode body) throws IOException {
    byte[] b = JSON.writeValueAsBytes(body);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.sendResponseHeaders(status, b.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(b);
    }
  }

  private static java.util.concurrent.ThreadFactory daemonThreads() {
    AtomicLong n = new AtomicLong();
    return r -> {
      Thread t = new Thread(r, "openai-http-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }
}
