package io.splitinfer.ue;

import io.grpc.ManagedChannel;
import io.splitinfer.model.ppl.Perplexity;
import io.splitinfer.proto.v1.ModelInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ue-client eval-ppl}: perplexity (eq. 6) of a corpus through the full network path in SCORE
 * mode. By default sliding windows at a fixed split (model {@link Perplexity}, chunks pipelined).
 * With {@code --follow-controller} or {@code --steps-csv} it scores step by step ({@link
 * StepScorer}): disjoint windows of {@code --window} tokens, one session each, {@code
 * --step-tokens} positions per step, following the controller's split decisions when asked, and
 * writes one CSV row per step.
 */
@Command(
    name = "eval-ppl",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = "Perplexity (eq. 6) of a corpus through the full network path (SCORE mode).")
final class EvalPplCommand implements Callable<Integer> {
  /** Header of the --steps-csv file. */
  static final String STEPS_HEADER = "step,position,split,epoch,logprob,step_ms,switch";

  @Mixin UeClientMain.Common common;
  @Spec CommandSpec spec;

  @Option(names = "--corpus", required = true, description = "UTF-8 text file.")
  Path corpus;

  @Option(names = "--split", defaultValue = "-1", description = "Split p; default L/2.")
  int split;

  @Option(names = "--window", defaultValue = "256", description = "Tokens per window (W).")
  int window;

  @Option(names = "--stride", defaultValue = "256", description = "Window stride (S <= W).")
  int stride;

  @Option(
      names = "--max-tokens",
      defaultValue = "0",
      description = "Use only the first N corpus tokens (0 = all).")
  int maxTokens;

  @Mixin UeClientMain.SplitDecisions decisions;

  @Option(
      names = "--follow-controller",
      description =
          "Score step by step following the controller's split decisions (needs --controller).")
  boolean followController;

  @Option(
      names = "--steps-csv",
      description =
          "Score step by step and write one row per step: "
              + STEPS_HEADER
              + " (logprob: sum over"
              + " the step's positions; switch: 1 when the step began with a split switch).")
  Path stepsCsv;

  @Option(
      names = "--tokens",
      defaultValue = "0",
      description = "Step-by-step mode: score at most N positions (0 = all).")
  int tokens;

  @Option(
      names = "--step-tokens",
      defaultValue = "1",
      description = "Step-by-step mode: positions per step (1 = decode-like).")
  int stepTokens;

  @Option(
      names = "--pilot-every",
      defaultValue = "0",
      description = "Step-by-step mode: send a pilot every N steps (0 = never).")
  int pilotEvery;

  @Option(names = "--pilot-length", defaultValue = "1024", description = "Pilot symbols per pilot.")
  int pilotLength;

  @Option(
      names = "--switch-method",
      defaultValue = "auto",
      description =
          "Step-by-step mode: how split switches move KV: auto (by cost), transfer, recompute, or"
              + " clean (the UE recomputes the layers it gains from its own states instead of"
              + " taking the KV the edge computed over the channel; by cost otherwise).")
  String switchMethod;

  /** Totals of a step-by-step run. */
  record StepwiseResult(long scored, double nll, long steps, long switches) {
    double ppl() {
      return Math.exp(nll / scored);
    }
  }

  @Override
  public Integer call() throws Exception {
    if (followController && decisions.controller == null) {
      throw new CommandLine.ParameterException(
          spec.commandLine(), "--follow-controller requires --controller HOST:PORT");
    }
    ManagedChannel edge = UeClientMain.channel(common.edge, common.tls);
    ManagedChannel ctl =
        followController ? UeClientMain.channel(decisions.controller, common.tls) : null;
    try (LoadedModel m = LoadedModel.open(common.model, common.threads, common.engine)) {
      UeClient client = new UeClient(edge, m.ueModel());
      ModelInfo info = client.modelInfo();
      int p = split >= 0 ? split : info.getNumLayers() / 2;
      int[] ids = m.scoringStream(Files.readString(corpus, StandardCharsets.UTF_8));
      if (maxTokens > 0 && ids.length > maxTokens) {
        ids = Arrays.copyOf(ids, maxTokens);
      }
      if (followController || stepsCsv != null) {
        return stepwise(edge, ctl, m, info, ids, p);
      }
      SplitScorer scorer = client.scorer(p, common.dtype(), common.ueId());
      long t0 = System.nanoTime();
      Perplexity.Result r =
          Perplexity.evaluate(
              ids, new Perplexity.Protocol(window, stride), UeClientMain.networkScorer(scorer));
      double secs = (System.nanoTime() - t0) / 1e9;
      System.out.printf(
          Locale.ROOT,
          "ppl %.6f | mean nll %.6f | tokens scored %d | windows %d | split %d | wire %s | %.1f s"
              + " | %d bytes sent%n",
          r.ppl(),
          r.meanNll(),
          r.scoredTokens(),
          r.windows(),
          p,
          common.wireDtype,
          secs,
          scorer.bytesSent());
      return 0;
    } finally {
      UeClientMain.shutdown(edge);
      if (ctl != null) {
        UeClientMain.shutdown(ctl);
      }
    }
  }

  private int stepwise(
      ManagedChannel edge, ManagedChannel ctl, LoadedModel m, ModelInfo info, int[] ids, int p)
      throws IOException {
    String ueId = common.ueId();
    StepScorer scorer =
        new StepScorer(
                edge,
                m.ueModel(),
                common.dtype(),
                ueId,
                UeClientMain.pilots(pilotLength),
                pilotEvery)
            .useSwitchCosts(SwitchCostModel.Config.parse(switchMethod));
    ControllerSplitSource watched =
        ctl == null
            ? null
            : ControllerSplitSource.start(
                ctl, ueId, decisions.edgeId, info, decisions.fallbackSplit, m.weightFormat(info));
    SplitSource source = watched != null ? watched : SplitSource.fixed(p);
    int w = Math.min(window, info.getMaxPositions());
    long t0 = System.nanoTime();
    StepwiseResult r;
    try (Writer file = stepsCsv == null ? Writer.nullWriter() : Files.newBufferedWriter(stepsCsv);
        PrintWriter csv = new PrintWriter(file)) {
      r = stepwise(scorer, ids, w, stepTokens, tokens, source, csv);
    } finally {
      if (watched != null) {
        watched.close();
      }
    }
    System.out.printf(
        Locale.ROOT,
        "ppl %.6f | mean nll %.6f | tokens scored %d | steps %d | switches %d | window %d |"
            + " step tokens %d | %s | wire %s | %.1f s | %d bytes sent | switch recompute %d"
            + " layer-positions%n",
        r.ppl(),
        r.nll() / r.scored(),
        r.scored(),
        r.steps(),
        r.switches(),
        w,
        stepTokens,
        followController ? "following the controller" : "split " + p,
        common.wireDtype,
        (System.nanoTime() - t0) / 1e9,
        scorer.bytesSent(),
        scorer.recomputedLayerPositions());
    return 0;
  }

  /**
   * Scores {@code ids} step by step in disjoint windows of {@code window} tokens (one session each,
   * steps numbered across windows), at most {@code limit} positions (0 = all), writing {@link
   * #STEPS_HEADER} rows to {@code csv}.
   */
  static StepwiseResult stepwise(
      StepScorer scorer,
      int[] ids,
      int window,
      int stepTokens,
      int limit,
      SplitSource source,
      PrintWriter csv) {
    if (window < 2) {
      throw new IllegalArgumentException("window must be >= 2, got " + window);
    }
    int n = limit > 0 ? Math.min(ids.length, limit + 1) : ids.length;
    csv.println(STEPS_HEADER);
    long[] steps = {0, 0};
    double[] nll = {0};
    long scored = 0;
    // Windows overlap by one token: the last target of a window is the first input of the next.
    for (int begin = 0; begin + 1 < n; begin += window - 1) {
      int end = Math.min(n, begin + window);
      int offset = begin;
      float[] lp =
          scorer.score(
              Arrays.copyOfRange(ids, begin, end),
              stepTokens,
              source,
              steps[0],
              s -> {
                steps[0]++;
                steps[1] += s.switched() ? 1 : 0;
                nll[0] -= s.logprob();
                csv.printf(
                    Locale.ROOT,
                    "%d,%d,%d,%d,%.8f,%.3f,%d%n",
                    s.step(),
                    offset + s.position(),
                    s.split(),
                    s.epoch(),
                    s.logprob(),
                    s.stepNanos() / 1e6,
                    s.switched() ? 1 : 0);
              });
      scored += lp.length;
    }
    csv.flush();
    return new StepwiseResult(scored, nll[0], steps[0], steps[1]);
  }
}
