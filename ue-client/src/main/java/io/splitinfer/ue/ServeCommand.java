package io.splitinfer.ue;

import io.grpc.ManagedChannel;
import io.splitinfer.core.cli.HostPort;
import io.splitinfer.ue.openai.ChatTemplate;
import io.splitinfer.ue.openai.ControllerSplits;
import io.splitinfer.ue.openai.OpenAiServer;
import io.splitinfer.ue.openai.SplitCompletionBackend;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ue-client serve}: a long-running UE behind an OpenAI-compatible HTTP endpoint. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description =
        "Loads the UE's layers once and serves POST /v1/completions, POST /v1/chat/completions"
            + " (SSE with stream: true) and GET /v1/models through the split.")
final class ServeCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(ServeCommand.class);

  @Mixin UeClientMain.Common common;

  @Option(
      names = "--http",
      defaultValue = "127.0.0.1:8080",
      description = "HOST:PORT the HTTP endpoint binds (only this address).")
  String http;

  @Option(
      names = "--split",
      defaultValue = "-1",
      description = "Fixed split p; default L/2 (the start split when following a controller).")
  int split;

  @Mixin UeClientMain.SplitDecisions decisions;

  @Option(
      names = "--max-concurrent",
      defaultValue = "4",
      description = "Completions generating at once; more get HTTP 429.")
  int maxConcurrent;

  @Option(
      names = "--max-body-bytes",
      defaultValue = "1048576",
      description = "Largest request body; more gets HTTP 413.")
  int maxBodyBytes;

  @Option(
      names = "--request-read-timeout-s",
      defaultValue = "30",
      description = "Seconds a client may take to send its request (headers and body).")
  int readTimeoutS;

  @Option(
      names = "--seed",
      defaultValue = "0",
      description = "Seeds the sampler seeds of requests that give no seed.")
  long seed;

  @Mixin SpecFlags spec;

  @Override
  public Integer call() throws Exception {
    spec.check();
    // The JDK server reads these once, when its first server is created.
    System.setProperty("sun.net.httpserver.maxReqTime", Integer.toString(readTimeoutS));
    System.setProperty("sun.net.httpserver.maxReqHeaders", "100");
    String ueId = common.ueId();
    ManagedChannel edge = UeClientMain.channel(common.edge, common.tls);
    String controller = decisions.controller;
    ManagedChannel ctl = controller == null ? null : UeClientMain.channel(controller, common.tls);
    ControllerSplits followed = null;
    try (LoadedModel m = LoadedModel.open(common.model, common.threads, common.engine)) {
      UeClient client = new UeClient(edge, m.ueModel());
      int start = split >= 0 ? split : m.engine.config().numLayers() / 2;
      Supplier<SplitSource> splits = () -> SplitSource.fixed(start);
      if (ctl != null) {
        followed =
            new ControllerSplits(client, ctl, ueId, decisions.edgeId, start)
                .withWeightFormat(m::weightFormat)
                .start();
        splits = followed;
      }
      ChatTemplate template =
          ChatTemplate.fromTokenizerConfig(m.pkg.file("tokenizer_config.json").orElse(null));
      log.info("model {} ({}), chat format {}", m.pkg.id(), m.pkg.dir(), template);
      Drafter drafter = spec.drafter(m);
      SplitCompletionBackend backend =
          new SplitCompletionBackend(client, m.tokenizer, template, splits, common.dtype(), ueId)
              .withSpeculation(() -> spec.decoder(drafter))
              .withLookahead(spec.guesser(drafter), spec.sendAhead());
      CountDownLatch stopped = new CountDownLatch(1);
      try (OpenAiServer server =
          new OpenAiServer(backend, new OpenAiServer.Options(maxConcurrent, maxBodyBytes, seed))
              .start(HostPort.parse(http, "--http").toSocketAddress())) {
        Runtime.getRuntime().addShutdownHook(new Thread(stopped::countDown));
        System.out.printf(
            "serving %s on http://%s/v1 (edge %s, %s)%n",
            m.pkg.id(),
            http,
            common.edge,
            ctl != null ? "following controller " + controller : "split " + start);
        stopped.await();
      }
      return 0;
    } finally {
      if (followed != null) {
        followed.close();
      }
      UeClientMain.shutdown(edge);
      if (ctl != null) {
        UeClientMain.shutdown(ctl);
      }
    }
  }
}
