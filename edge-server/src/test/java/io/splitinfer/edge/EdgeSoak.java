package io.splitinfer.edge;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.ue.EdgeFailover;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.GenerationResult;
import io.splitinfer.ue.LocalGenerator;
import io.splitinfer.ue.UeClient;
import io.splitinfer.ue.UeModel;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A bounded soak: {@code ues} UE threads generate greedily (seeded prompts, a random split per
 * generation) against two edge servers on loopback TCP for {@code duration}, failing over between
 * them, while the edges are killed and restarted on their ports in turn every {@code restartEvery}.
 * Every output is checked token for token against the monolithic model. Every tenth of the run it
 * samples the process's RSS, heap after a full GC, live sessions on both edges, and the p50/p99 of
 * the per-token latency (gap between consecutive tokens at the UE, the first token's TTFT included)
 * over that interval; rows go to a CSV and the first and last to a printed table. It stops by
 * itself. Tests only.
 */
final class EdgeSoak {
  /** The soak's knobs. */
  record Config(int ues, Duration duration, Duration restartEvery, int newTokens, long seed) {}

  /** One sample. */
  record Row(
      double seconds,
      double rssMb,
      double heapAfterGcMb,
      int liveSessions,
      long tokens,
      long generations,
      long recoveries,
      double p50Ms,
      double p99Ms) {}

  /** What the soak saw. */
  record Result(
      List<Row> rows, long generations, long mismatches, long failures, int sessionsAfter) {}

  static final int LAYERS = 6;
  static final int CHUNK = 8;
  static final int PROMPTS = 8;

  private final Config config;
  private final InferenceEngine engine;
  private final AtomicReferenceArray<EdgeServer> edges = new AtomicReferenceArray<>(2);
  private final int[] ports = new int[2];
  private final Object gapsLock = new Object();
  private long[] gaps = new long[1 << 16];
  private int gapCount;
  private final AtomicLong tokens = new AtomicLong();
  private final AtomicLong generations = new AtomicLong();
  private final AtomicLong recoveries = new AtomicLong();
  private final AtomicLong mismatches = new AtomicLong();
  private final AtomicLong failures = new AtomicLong();

  EdgeSoak(Config config, InferenceEngine engine) {
    this.config = config;
    this.engine = engine;
  }

  private EdgeServer startEdge(int port) throws IOException {
    EdgeMetrics metrics = new EdgeMetrics(new SimpleMeterRegistry());
    SplitInferenceService service =
        new SplitInferenceService(
            new EdgeModel(TestRig.MODEL_ID, TestRig.SHA, engine, id -> "<" + id + ">"),
            EdgeConfig.defaults().withMaxChunkTokens(CHUNK),
            metrics);
    return new EdgeServer(service, metrics).start(new InetSocketAddress("127.0.0.1", port));
  }

  Result run(Path csv) throws Exception {
    SplittableRandom root = new SplittableRandom(config.seed());
    int[][] prompts = new int[PROMPTS][];
    int[][] want = new int[PROMPTS][];
    for (int i = 0; i < PROMPTS; i++) {
      prompts[i] = new int[8 + root.nextInt(33)];
      for (int j = 0; j < prompts[i].length; j++) {
        prompts[i][j] = 3 + root.nextInt(engine.config().vocabSize() - 3);
      }
      want[i] = new LocalGenerator(engine).greedy(prompts[i], config.newTokens(), CHUNK).tokens();
    }
    for (int e = 0; e < 2; e++) {
      edges.set(e, startEdge(0));
      ports[e] = edges.get(e).port();
    }
    List<ManagedChannel> channels = new ArrayList<>();
    for (int p : ports) {
      channels.add(
          NettyChannelBuilder.forAddress("127.0.0.1", p).usePlaintext().directExecutor().build());
    }
    long t0 = System.nanoTime();
    long end = t0 + config.duration().toNanos();
    List<Thread> threads = new ArrayList<>();
    for (int u = 0; u < config.ues(); u++) {
      long seed = root.nextLong();
      // half the UEs prefer edge 0, half edge 1
      List<ManagedChannel> order =
          u % 2 == 0 ? channels : List.of(channels.get(1), channels.get(0));
      Thread t = new Thread(() -> ueLoop(seed, order, prompts, want, end), "soak-ue-" + u);
      t.start();
      threads.add(t);
    }
    Thread restarter = new Thread(() -> restartLoop(end), "soak-restarts");
    restarter.setDaemon(true);
    restarter.start();
    List<Row> rows = new ArrayList<>();
    long interval = config.duration().toNanos() / 10;
    for (int i = 1; i <= 10; i++) {
      long at = t0 + i * interval;
      long now;
      while ((now = System.nanoTime()) < at) {
        Thread.sleep(Math.max(1, (at - now) / 1_000_000));
      }
      rows.add(sample((now - t0) / 1e9));
    }
    for (Thread t : threads) {
      t.join();
    }
    restarter.join(TimeUnit.SECONDS.toMillis(30));
    int after = 0;
    for (int e = 0; e < 2; e++) {
      after += edges.get(e).service().liveSessions();
    }
    for (ManagedChannel c : channels) {
      c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    for (int e = 0; e < 2; e++) {
      edges.get(e).close();
    }
    write(csv, rows);
    return new Result(rows, generations.get(), mismatches.get(), failures.get(), after);
  }

  private void ueLoop(
      long seed, List<ManagedChannel> order, int[][] prompts, int[][] want, long end) {
    SplittableRandom r = new SplittableRandom(seed);
    UeClient ue =
        new UeClient(
            order,
            new UeModel(TestRig.MODEL_ID, TestRig.SHA, engine),
            null,
            new EdgeFailover.Policy(
                30, Duration.ofMillis(50), Duration.ofMillis(500), Duration.ofSeconds(20), seed));
    while (System.nanoTime() < end) {
      int p = r.nextInt(PROMPTS);
      int split = r.nextInt(LAYERS + 1);
      long[] last = {System.nanoTime()};
      try {
        GenerationResult g =
            ue.generator()
                .generate(
                    GenerateRequest.greedy(prompts[p], config.newTokens()),
                    split,
                    tok -> {
                      long now = System.nanoTime();
                      gap(now - last[0]);
                      last[0] = now;
                      tokens.incrementAndGet();
                    });
        generations.incrementAndGet();
        recoveries.addAndGet(g.recoveries().size());
        if (!Arrays.equals(want[p], g.tokenIds())) {
          mismatches.incrementAndGet();
        }
      } catch (RuntimeException e) {
        failures.incrementAndGet();
        System.err.println("soak: generation failed: " + e);
      }
    }
  }

  private void restartLoop(long end) {
    int which = 0;
    try {
      while (true) {
        long wait = config.restartEvery().toNanos();
        if (System.nanoTime() + wait >= end) {
          return;
        }
        TimeUnit.NANOSECONDS.sleep(wait);
        edges.get(which).kill();
        Thread.sleep(500);
        edges.set(which, startEdge(ports[which]));
        which = 1 - which;
      }
    } catch (Exception e) {
      failures.incrementAndGet();
      System.err.println("soak: restart failed: " + e);
    }
  }

  private void gap(long nanos) {
    synchronized (gapsLock) {
      if (gapCount == gaps.length) {
        gaps = Arrays.copyOf(gaps, gaps.length * 2);
      }
      gaps[gapCount++] = nanos;
    }
  }

  private Row sample(double seconds) throws IOException {
    long[] g;
    synchronized (gapsLock) {
      g = Arrays.copyOf(gaps, gapCount);
      gapCount = 0;
    }
    Arrays.sort(g);
    int live = 0;
    for (int e = 0; e < 2; e++) {
      live += edges.get(e).service().liveSessions();
    }
    System.gc();
    double heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / 1048576.0;
    return new Row(
        seconds,
        rssMb(),
        heap,
        live,
        tokens.get(),
        generations.get(),
        recoveries.get(),
        percentile(g, 0.50),
        percentile(g, 0.99));
  }

  static double percentile(long[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    return sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))] / 1e6;
  }

  /** Resident set size of this process (Linux /proc), NaN elsewhere. */
  static double rssMb() throws IOException {
    Path status = Path.of("/proc/self/status");
    if (!Files.exists(status)) {
      return Double.NaN;
    }
    for (String line : Files.readAllLines(status)) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
      }
    }
    return Double.NaN;
  }

  private void write(Path csv, List<Row> rows) throws IOException {
    Files.createDirectories(csv.getParent());
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(csv))) {
      w.println(
          "t_s,rss_mb,heap_after_gc_mb,live_sessions,tokens,generations,recoveries,"
              + "token_p50_ms,token_p99_ms");
      for (Row r : rows) {
        w.println(
            String.format(
                Locale.ROOT,
                "%.1f,%.1f,%.1f,%d,%d,%d,%d,%.3f,%.3f",
                r.seconds(),
                r.rssMb(),
                r.heapAfterGcMb(),
                r.liveSessions(),
                r.tokens(),
                r.generations(),
                r.recoveries(),
                r.p50Ms(),
                r.p99Ms()));
      }
    }
  }

  /** The start and end rows as a Markdown table. */
  static String table(Config c, Result r) {
    StringBuilder b = new StringBuilder();
    b.append(
        String.format(
            Locale.ROOT,
            "%d UEs, %d s, edge restart every %d s: %d generations, %d mismatches, %d failures,"
                + " %d sessions left%n",
            c.ues(),
            c.duration().toSeconds(),
            c.restartEvery().toSeconds(),
            r.generations(),
            r.mismatches(),
            r.failures(),
            r.sessionsAfter()));
    b.append(
        "| when | t (s) | RSS (MB) | heap after GC (MB) | live sessions | token p50 (ms) |"
            + " token p99 (ms) | recoveries so far |\n");
    b.append("|---|---|---|---|---|---|---|---|\n");
    // the first interval in which tokens arrived (the very first may still be loading)
    Row first =
        r.rows().stream().filter(x -> !Double.isNaN(x.p50Ms())).findFirst().orElse(r.rows().get(0));
    Row last = r.rows().get(r.rows().size() - 1);
    for (Row row : List.of(first, last)) {
      b.append(
          String.format(
              Locale.ROOT,
              "| %s | %.0f | %.0f | %.1f | %d | %.2f | %.2f | %d |%n",
              row == first ? "start" : "end",
              row.seconds(),
              row.rssMb(),
              row.heapAfterGcMb(),
              row.liveSessions(),
              row.p50Ms(),
              row.p99Ms(),
              row.recoveries()));
    }
    return b.toString();
  }
}
