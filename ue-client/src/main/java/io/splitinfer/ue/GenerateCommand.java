package io.splitinfer.ue;

import static io.splitinfer.ue.UeClientMain.channel;
import static io.splitinfer.ue.UeClientMain.pilots;
import static io.splitinfer.ue.UeClientMain.shutdown;

import io.grpc.ManagedChannel;
import io.splitinfer.model.pkg.DefaultModel;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.EdgeAssignment;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.SamplingParams;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ue-client generate}: refuses what it can before computing anything (prompt source, split
 * range, prompt length against the edge's max_positions), then generates through the split with
 * failover along the {@code --edge} list, streaming text and printing a summary.
 */
@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = "Generates text through the split and prints a summary.")
final class GenerateCommand implements Callable<Integer> {
  @Mixin UeClientMain.Common common;

  @Option(
      names = "--prompt",
      description = "Prompt text (or ids:1,2,3); - reads it from standard input.")
  String prompt;

  @Option(names = "--prompt-file", description = "Read the prompt from this file (UTF-8).")
  Path promptFile;

  @Option(
      names = "--split",
      description = "Fixed split p in the edge's [min_split, max_split]; default L/2.")
  Integer split;

  @Option(
      names = "--assign-edge",
      description =
          "Ask the controller (--controller) for an edge from its pool instead of --edge: the"
              + " least loaded that serves this model, or the edge named by --pool-edge; fails"
              + " over along the other edges that fit.")
  boolean assignEdge;

  @Option(
      names = "--pool-edge",
      defaultValue = "",
      description = "With --assign-edge: this edge of the pool only (its edge id).")
  String poolEdge;

  @Option(
      names = "--reconnect-attempts",
      defaultValue = "10",
      description =
          "When the edge or the link dies: reconnect attempts (same edge, then the next) before"
              + " giving up; 0 = none.")
  int reconnectAttempts;

  @Option(
      names = "--stall-timeout-ms",
      defaultValue = "30000",
      description = "A session that hears nothing from the edge this long is dead (0 = never).")
  long stallTimeoutMs;

  /** Standard input for --prompt - (tests replace it). */
  java.io.InputStream stdin = System.in;

  @Mixin UeClientMain.SplitDecisions decisions;

  @Option(names = "--max-tokens", defaultValue = "64", description = "Tokens to generate.")
  int maxTokens;

  @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy.")
  float temperature;

  @Option(names = "--top-k", defaultValue = "0", description = "0 = off.")
  int topK;

  @Option(names = "--top-p", defaultValue = "0", description = "0 or 1 = off.")
  float topP;

  @Option(names = "--seed", defaultValue = "0", description = "Sampler seed.")
  long seed;

  @Option(
      names = "--stop-at-eos",
      defaultValue = "true",
      negatable = true,
      description = "Stop at EOS.")
  boolean stopAtEos;

  @Option(
      names = "--pilot-every",
      defaultValue = "0",
      description = "Send a pilot every N decode steps (0 = never).")
  int pilotEvery;

  @Option(names = "--pilot-length", defaultValue = "1024", description = "Pilot symbols per pilot.")
  int pilotLength;

  @Mixin SpecFlags spec;

  @Override
  public Integer call() throws Exception {
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    String text = PromptInput.read(prompt, promptFile, stdin);
    if (split != null && split < 0) {
      throw new CliErrors.Refused("--split must be >= 0, got " + split);
    }
    if (maxTokens < 1) {
      throw new CliErrors.Refused("--max-tokens must be >= 1, got " + maxTokens);
    }
    spec.check();
    List<ManagedChannel> edges = new ArrayList<>();
    ManagedChannel ctl = null;
    try {
      ctl = decisions.controller == null ? null : channel(decisions.controller, common.tls);
      String ueId = common.ueId();
      List<String> addresses = List.of(common.edge.split(","));
      if (assignEdge) {
        if (ctl == null) {
          throw new CliErrors.Refused("--assign-edge needs --controller HOST:PORT");
        }
        ModelPackage pkg =
            common.model == null
                ? DefaultModel.forProcess().locate()
                : ModelPackage.open(common.model);
        EdgeAssignment a =
            PoolPlacement.assign(ctl, ueId, pkg.id(), pkg.config().numLayers(), poolEdge);
        addresses = PoolPlacement.addresses(a);
        decisions.edgeId = a.getEdgeId();
        System.err.printf(
            "placed on edge %s at %s (%s); fallbacks %s%n",
            a.getEdgeId(), a.getAddress(), a.getDetail(), a.getFallbackAddressesList());
      }
      for (String e : addresses) {
        edges.add(channel(e.trim(), common.tls));
      }
      EdgeFailover.Policy failover =
          new EdgeFailover.Policy(
              reconnectAttempts,
              java.time.Duration.ofMillis(100),
              java.time.Duration.ofSeconds(2),
              java.time.Duration.ofMillis(stallTimeoutMs),
              ueId.hashCode());
      ModelInfo info = UeClient.modelInfo(edges);
      if (split != null && (split < info.getMinSplit() || split > info.getMaxSplit())) {
        throw new CliErrors.Refused(
            "--split "
                + split
                + " is outside the edge's range ["
                + info.getMinSplit()
                + ", "
                + info.getMaxSplit()
                + "]");
      }
      int[] given = PromptInput.ids(text);
      if (given != null) {
        checkPromptLength(given.length, info);
      }
      return generate(out, text, edges, ctl, ueId, failover, info);
    } finally {
      for (ManagedChannel e : edges) {
        shutdown(e);
      }
      if (ctl != null) {
        shutdown(ctl);
      }
    }
  }

  static void checkPromptLength(int tokens, ModelInfo info) {
    if (tokens > info.getMaxPositions()) {
      throw new CliErrors.Refused(
          "prompt of "
              + tokens
              + " tokens exceeds the edge's max_positions "
              + info.getMaxPositions());
    }
  }

  private int generate(
      PrintStream out,
      String text,
      List<ManagedChannel> edges,
      ManagedChannel ctl,
      String ueId,
      EdgeFailover.Policy failover,
      ModelInfo info)
      throws Exception {
    try (LoadedModel m = LoadedModel.open(common.model, common.threads, common.engine)) {
      UeClient client = new UeClient(edges, m.ueModel(), pilots(pilotLength), failover);
      int[] ids = m.encode(text);
      checkPromptLength(ids.length, info);
      GenerateRequest req =
          new GenerateRequest(
              ids,
              maxTokens,
              SamplingParams.newBuilder()
                  .setTemperature(temperature)
                  .setTopK(topK)
                  .setTopP(topP)
                  .setSeed(seed)
                  .build(),
              common.dtype(),
              stopAtEos,
              ueId,
              pilotEvery);
      SplitSource source;
      ControllerSplitSource watched = null;
      if (ctl != null) {
        watched =
            ControllerSplitSource.start(
                ctl, ueId, decisions.edgeId, info, decisions.fallbackSplit, m.weightFormat(info));
        source = watched;
      } else {
        source = SplitSource.fixed(split != null ? split : info.getNumLayers() / 2);
      }
      GenerationResult r;
      Drafter drafter = spec.drafter(m);
      SplitGenerator generator =
          client
              .generator()
              .withSpeculation(spec.decoder(drafter))
              .withLookahead(spec.guesser(drafter), spec.sendAhead());
      try {
        r = generator.generate(req, source, t -> out.print(t.getText()));
      } finally {
        if (watched != null) {
          watched.close();
        }
      }
      out.println();
      out.printf(
          Locale.ROOT,
          "--%n tokens %d (%s) | TTFT %.1f ms | decode %.2f tokens/s | sent %d bytes%n",
          r.tokenIds().length,
          r.doneReason(),
          r.timeToFirstTokenNanos() / 1e6,
          r.decodeTokensPerSecond(),
          r.bytesSent());
      out.printf(
          Locale.ROOT,
          " bytes/decode step %.1f vs floor %d (hidden %d x %d B): framing +%.2f%%%n",
          r.bytesPerDecodeStep(),
          r.floorBytesPerStep(),
          info.getHiddenSize(),
          TensorCodec.bytesPerElement(common.dtype()),
          r.framingOverheadPercent());
      if (generator.speculation() != null) {
        SpecDecoder.Stats st = generator.speculation().stats();
        out.printf(
            Locale.ROOT,
            " speculation: %d rounds, %d of %d drafts accepted (%.1f%%), %.2f tokens per round"
                + " trip%n",
            st.rounds(),
            st.accepted(),
            st.drafted(),
            100 * st.acceptance(),
            st.tokensPerRound());
      }
      if (generator.lookahead() != null) {
        Lookahead.Stats st = generator.lookahead().stats();
        out.printf(
            Locale.ROOT,
            " lookahead: %d of %d guesses right (%.1f%%)%n",
            st.hits(),
            st.hits() + st.misses(),
            100 * st.hitRate());
      }
      out.println(
          " splits "
              + r.splits().stream().map(s -> "p=" + s.split() + "@step" + s.step()).toList());
      for (GenerationResult.Recovery rec : r.recoveries()) {
        out.printf(
            Locale.ROOT,
            " resumed after %d tokens on edge %d in %.1f ms (%d attempts, %d positions"
                + " replayed; %s)%n",
            rec.tokensBefore(),
            rec.edgeIndex(),
            rec.nanos() / 1e6,
            rec.attempts(),
            rec.replayedPositions(),
            rec.cause());
      }
      if (!r.estimates().isEmpty()) {
        var e = r.estimates().get(r.estimates().size() - 1);
        out.printf(
            Locale.ROOT,
            " channel estimate: sigma %.4f sigma_h %.4f loss %.4f SNR %.1f dB (%d pilots)%n",
            e.getSigma(),
            e.getSigmaH(),
            e.getLossRate(),
            e.getSnrDb(),
            e.getPilots());
      }
      return 0;
    }
  }
}
