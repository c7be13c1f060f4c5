package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.core.security.AuthInterceptor;
import io.splitinfer.core.security.Authz;
import io.splitinfer.core.security.BearerToken;
import io.splitinfer.core.security.TlsCredentials;
import io.splitinfer.core.security.TlsOptions;
import io.splitinfer.core.security.TokenTable;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.checkpoint.RandomCheckpoint;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.engine.RopeScaling;
import io.splitinfer.model.reference.ReferenceEngine;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.LocalGenerator;
import io.splitinfer.ue.UeClient;
import io.splitinfer.ue.UeModel;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A prefill flood (issue 13): four connections of one client loop 512-token prompt chunks while a
 * healthy UE (another identity) generates. Measures the healthy UE's decode tokens/s alone and
 * under the flood, with prefill admission on (one slot, round-robin over clients: the default) and
 * off (as many slots as flooders), over {@value #RUNS} runs each, prints a table, and asserts a
 * generous ratio for admission on. Figures in the README's security section.
 */
class PrefillFloodTest {
  static final int RUNS = 3;
  static final int FLOODERS = 4;
  static final int PROMPT_CHUNK = 512;
  static final int HEALTHY_TOKENS = 24;
  static final String MALLORY = "mallory-token-0123456789";
  static final String HEALTHY = "healthy-token-0123456789";

  @TempDir Path dir;

  @Test
  void aPrefillFloodDoesNotStarveAnotherClientsDecode() throws Exception {
    // a model whose 512-token prefill costs far more than a decode step
    new RandomCheckpoint(
            new ModelConfig(
                4, 128, 256, 4, 2, 32, 97, 1024, 1e-5, 10000.0, false, 1, 2, RopeScaling.NONE),
            DType.F32,
            5,
            1)
        .write(dir.resolve("model"));
    Path pki = EdgeAbuseTest.gen(dir.resolve("pki"));
    Path tokens = dir.resolve("tokens");
    Files.writeString(tokens, MALLORY + " ue mallory\n" + HEALTHY + " ue ue-ok\n");
    try (InferenceEngine engine = ReferenceEngine.load(dir.resolve("model"))) {
      double[] alone = new double[RUNS];
      double[] gated = new double[RUNS];
      double[] ungated = new double[RUNS];
      for (int r = 0; r < RUNS; r++) {
        alone[r] = measure(engine, pki, tokens, 1, 0);
        gated[r] = measure(engine, pki, tokens, 1, FLOODERS);
        ungated[r] = measure(engine, pki, tokens, FLOODERS, FLOODERS);
      }
      System.out.println("prefill flood: healthy UE decode tokens/s (median of " + RUNS + " runs)");
      System.out.println("| case | tokens/s | runs |");
      System.out.println("|---|---|---|");
      row("alone", alone);
      row(FLOODERS + " flooders, admission on (1 slot, round-robin)", gated);
      row(FLOODERS + " flooders, admission off (" + FLOODERS + " slots)", ungated);
      double ratio = median(gated) / median(alone);
      System.out.printf(Locale.ROOT, "ratio flooded/alone with admission: %.2f%n", ratio);
      assertTrue(ratio > 0.1, "healthy UE starved: " + ratio);
    }
  }

  private static void row(String name, double[] v) {
    System.out.printf(
        Locale.ROOT, "| %s | %.1f | %s |%n", name, median(v), Arrays.toString(round(v)));
  }

  private static double[] round(double[] v) {
    return Arrays.stream(v).map(x -> Math.round(x * 10) / 10.0).toArray();
  }

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }

  /** Healthy decode tokens/s with {@code flooders} connections looping prefills. */
  private static double measure(
      InferenceEngine engine, Path pki, Path tokens, int slots, int flooders) throws Exception {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    EdgeMetrics metrics = new EdgeMetrics(registry);
    SplitInferenceService service =
        new SplitInferenceService(
            new EdgeModel(TestRig.MODEL_ID, TestRig.SHA, engine, id -> "<" + id + ">"),
            EdgeConfig.defaults(),
            new ClientLimits(16, 32, java.time.Duration.ofSeconds(10), slots),
            new Authz(true, registry),
            metrics);
    EdgeServer server =
        new EdgeServer(service, metrics)
            .security(
                TlsCredentials.server(
                    TlsOptions.tls(
                        pki.resolve("edge.pem"),
                        pki.resolve("edge.key"),
                        pki.resolve("ca.pem"),
                        false),
                    "127.0.0.1"),
                new AuthInterceptor(TokenTable.load(tokens), registry))
            .start(new InetSocketAddress("127.0.0.1", 0));
    List<ManagedChannel> channels = new ArrayList<>();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger prefills = new AtomicInteger();
    List<Thread> threads = new ArrayList<>();
    try {
      int d = engine.config().hiddenSize();
      float[] x = new float[PROMPT_CHUNK * d];
      SplittableRandom rnd = new SplittableRandom(3);
      for (int i = 0; i < x.length; i++) {
        x[i] = (float) rnd.nextGaussian();
      }
      for (int f = 0; f < flooders; f++) {
        ManagedChannel ch = channel(server, pki, MALLORY);
        channels.add(ch);
        int id = f;
        Thread t =
            new Thread(
                () -> {
                  for (int n = 0; n < 10_000 && !stop.get(); n++) { // bounded loop
                    String sid = "flood-" + id + "-" + n;
                    RawSession s =
                        new RawSession(ch)
                            .send(
                                ValidationTest.msg(ValidationTest.open(sid, 2).setUeId("mallory")));
                    s.send(
                        ValidationTest.msg(
                            ValidationTest.hidden(sid, 2, 0, x, PROMPT_CHUNK, d).setStep(0)));
                    try {
                      EdgeMessage m = null;
                      while ((m == null || !m.hasToken()) && !stop.get() && !s.status.isDone()) {
                        m = s.received.poll(50, TimeUnit.MILLISECONDS);
                      }
                      prefills.incrementAndGet();
                      s.cancel();
                    } catch (InterruptedException e) {
                      return;
                    }
                  }
                });
        t.setDaemon(true);
        threads.add(t);
        t.start();
      }
      if (flooders > 0) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (prefills.get() < flooders && System.nanoTime() < deadline) {
          Thread.sleep(10); // the flood is running
        }
      }
      ManagedChannel healthy = channel(server, pki, HEALTHY);
      channels.add(healthy);
      int[] prompt = {5, 6, 7, 8};
      long[] firstTokenAt = {0};
      long t0 = System.nanoTime();
      int[] got =
          new UeClient(healthy, new UeModel(TestRig.MODEL_ID, TestRig.SHA, engine))
              .generator()
              .generate(
                  GenerateRequest.greedy(prompt, HEALTHY_TOKENS).withUeId("ue-ok"),
                  2,
                  tok -> {
                    if (firstTokenAt[0] == 0) {
                      firstTokenAt[0] = System.nanoTime();
                    }
                  })
              .tokenIds();
      long t1 = System.nanoTime();
      assertArrayEquals(
          new LocalGenerator(engine).greedy(prompt, HEALTHY_TOKENS, 512).tokens(), got);
      assertEquals(0, metrics.rejectedCount("internal"));
      return (HEALTHY_TOKENS - 1) / ((t1 - firstTokenAt[0]) / 1e9);
    } finally {
      stop.set(true);
      for (Thread t : threads) {
        t.join(10_000);
      }
      for (ManagedChannel c : channels) {
        c.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
      server.stop();
    }
  }

  private static ManagedChannel channel(EdgeServer server, Path pki, String token) {
    return Grpc.newChannelBuilder(
            "localhost:" + server.port(),
            TlsCredentials.client(
                TlsOptions.tls(null, null, pki.resolve("ca.pem"), false),
                "localhost",
                new BearerToken(token)))
        .maxInboundMessageSize(64 << 20)
        .build();
  }
}
