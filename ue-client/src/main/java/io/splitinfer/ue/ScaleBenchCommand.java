package io.splitinfer.ue;

import io.grpc.ManagedChannel;
import io.splitinfer.proto.v1.ModelInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Edge capacity: N UEs (each its own connection and session, split {@code --split}, default 0 so
 * the edge runs every layer) generate greedily at once against one edge, for N in {@code --ues}.
 * The UEs prefill, wait for each other at their first token, then decode together. Per N it reports
 * the aggregate decode tokens/s in the window where all N UEs are decoding (from that common start
 * to the first UE's last token; median and range over {@code --repeats} runs) and the p50/p99 of
 * the time between consecutive decode tokens at a UE (pooled over all UEs and runs), with the
 * 1-minute load average at the row's start. Run it once per edge configuration (e.g. {@code --label
 * batch-on} against an edge with {@code --batch-decode}); the rows of other labels already in
 * {@code scale.csv} are kept, and the plot shows them all ({@link ScaleBenchReport}). UE u's prompt
 * is the same for every N and label, and its tokens must be the same in every run (checked; the
 * token hash in the CSV compares labels).
 */
@Command(
    name = "scale-bench",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description =
        "Aggregate decode tokens/s and per-token latency of N concurrent UEs on one edge.")
final class ScaleBenchCommand implements Callable<Integer> {
  @Mixin UeClientMain.Common common;

  @Option(names = "--label", required = true, description = "Name of this edge configuration.")
  String label;

  @Option(names = "--ues", defaultValue = "1,2,4,8,16", description = "Concurrent UE counts.")
  String ues;

  @Option(names = "--split", defaultValue = "0", description = "Split of every UE.")
  int split;

  @Option(names = "--prompt-tokens", defaultValue = "16")
  int promptTokens;

  @Option(names = "--new-tokens", defaultValue = "32")
  int newTokens;

  @Option(names = "--repeats", defaultValue = "3", description = "Measured runs per N.")
  int repeats;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of the prompts.")
  long seed;

  @Option(names = "--out", description = "Directory for scale.csv and the PNGs.")
  Path out;

  /** One UE's run: its tokens and their arrival times (ns). */
  record UeRun(int[] tokens, long[] at) {}

  @Override
  public Integer call() throws Exception {
    int[] ns = Arrays.stream(ues.split(",")).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
    int maxN = Arrays.stream(ns).max().orElse(1);
    List<ManagedChannel> channels = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(maxN);
    try (LoadedModel m = LoadedModel.open(common.model, common.threads, common.engine)) {
      List<UeClient> clients = new ArrayList<>();
      for (int u = 0; u < maxN; u++) {
        ManagedChannel ch = UeClientMain.channel(common.edge, common.tls);
        channels.add(ch);
        clients.add(new UeClient(ch, m.ueModel()));
      }
      ModelInfo info = clients.get(0).modelInfo();
      List<int[]> prompts = new ArrayList<>();
      for (int u = 0; u < maxN; u++) {
        SplittableRandom rnd = new SplittableRandom(seed * 1000 + u);
        prompts.add(rnd.ints(promptTokens, 3, info.getVocabSize()).toArray());
      }
      int[][] reference = new int[maxN][];
      run(pool, clients, prompts, maxN, reference); // warm-up, also fixes each UE's tokens
      List<ScaleBenchReport.Row> rows = new ArrayList<>();
      for (int n : ns) {
        double load = ScaleBenchReport.loadAverage();
        double[] rates = new double[repeats];
        List<Double> gaps = new ArrayList<>();
        for (int r = 0; r < repeats; r++) {
          List<UeRun> runs = run(pool, clients, prompts, n, reference);
          rates[r] = steadyRate(runs);
          for (UeRun ur : runs) {
            for (int i = 1; i < ur.at().length; i++) {
              gaps.add((ur.at()[i] - ur.at()[i - 1]) / 1e6);
            }
          }
        }
        double[] g = gaps.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double[] sorted = rates.clone();
        Arrays.sort(sorted);
        rows.add(
            new ScaleBenchReport.Row(
                label,
                n,
                repeats,
                BenchCommand.median(rates),
                sorted[0],
                sorted[sorted.length - 1],
                percentile(g, 0.50),
                percentile(g, 0.99),
                load,
                tokenHash(reference, n)));
        System.out.printf(
            Locale.ROOT,
            "%s N=%d: %.2f tok/s [%.2f, %.2f], p50 %.1f ms, p99 %.1f ms, load %.2f%n",
            label,
            n,
            BenchCommand.median(rates),
            sorted[0],
            sorted[sorted.length - 1],
            percentile(g, 0.50),
            percentile(g, 0.99),
            load);
      }
      String header =
          String.format(
              Locale.ROOT,
              "model %s: L=%d d=%d vocab=%d | split %d, prompt %d, new %d, repeats %d",
              info.getModelId(),
              info.getNumLayers(),
              info.getHiddenSize(),
              info.getVocabSize(),
              split,
              promptTokens,
              newTokens,
              repeats);
      List<ScaleBenchReport.Row> all = new ArrayList<>();
      if (out != null) {
        Files.createDirectories(out);
        all.addAll(ScaleBenchReport.readCsv(out.resolve("scale.csv")));
        all.removeIf(r -> r.label().equals(label));
      }
      all.addAll(rows);
      System.out.print(ScaleBenchReport.table(header, all));
      if (out != null) {
        ScaleBenchReport.write(out, header, all);
        System.out.println("wrote " + out.resolve("scale.csv") + " and the PNGs");
      }
      return 0;
    } finally {
      pool.shutdownNow();
      channels.forEach(ManagedChannel::shutdownNow);
    }
  }

  /** N UEs generate at once; checks each UE's tokens against its reference (set when null). */
  private List<UeRun> run(
      ExecutorService pool, List<UeClient> clients, List<int[]> prompts, int n, int[][] reference)
      throws Exception {
    CountDownLatch go = new CountDownLatch(1);
    CountDownLatch prefilled = new CountDownLatch(n);
    List<Future<UeRun>> fs = new ArrayList<>();
    for (int u = 0; u < n; u++) {
      UeClient c = clients.get(u);
      GenerateRequest req =
          GenerateRequest.greedy(prompts.get(u), newTokens)
              .withWireDtype(common.dtype())
              .withUeId("bench-ue-" + u);
      fs.add(
          pool.submit(
              () -> {
                long[] at = new long[newTokens];
                int[] k = {0};
                go.await();
                GenerationResult g =
                    c.generator()
                        .generate(
                            req,
                            split,
                            t -> {
                              if (k[0] == 0) {
                                // every UE starts decoding together, after all prefills
                                prefilled.countDown();
                                awaitQuietly(prefilled);
                              }
                              at[Math.min(k[0]++, at.length - 1)] = System.nanoTime();
                            });
                return new UeRun(g.tokenIds(), Arrays.copyOf(at, Math.min(k[0], at.length)));
              }));
    }
    go.countDown();
    List<UeRun> runs = new ArrayList<>();
    for (int u = 0; u < n; u++) {
      UeRun r = fs.get(u).get();
      if (reference[u] == null) {
        reference[u] = r.tokens();
      } else if (!Arrays.equals(reference[u], r.tokens())) {
        throw new IllegalStateException(
            "UE " + u + " generated different tokens with " + n + " UEs (" + label + ")");
      }
      runs.add(r);
    }
    return runs;
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Tokens/s over the window in which every UE is decoding (all of one UE's run when N = 1). */
  static double steadyRate(List<UeRun> runs) {
    long start = Long.MIN_VALUE;
    long end = Long.MAX_VALUE;
    for (UeRun r : runs) {
      start = Math.max(start, r.at()[0]);
      end = Math.min(end, r.at()[r.at().length - 1]);
    }
    if (end <= start) {
      throw new IllegalStateException("the UEs' decode phases do not overlap: use more tokens");
    }
    long tokens = 0;
    for (UeRun r : runs) {
      for (long t : r.at()) {
        tokens += t > start && t <= end ? 1 : 0;
      }
    }
    return tokens / ((end - start) / 1e9);
  }

  static double percentile(double[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)];
  }

  private static String tokenHash(int[][] tokens, int n) {
    int h = 1;
    for (int u = 0; u < n; u++) {
      h = 31 * h + Arrays.hashCode(tokens[u]);
    }
    return String.format(Locale.ROOT, "%08x", h);
  }
}
