package io.splitinfer.edge;

import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.checkpoint.RandomCheckpoint;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.reference.ReferenceEngine;
import io.splitinfer.ue.UeClient;
import io.splitinfer.ue.UeModel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/** An edge server on a tiny random model plus a channel to it, in-process or over loopback TCP. */
final class TestRig implements AutoCloseable {
  static final String MODEL_ID = "tiny-random";
  static final String SHA = "0123456789abcdef";

  final InferenceEngine engine;
  final EdgeMetrics metrics;
  final EdgeServer server;
  final ManagedChannel channel;

  enum Transport {
    IN_PROCESS,
    TCP
  }

  static InferenceEngine tinyEngine(Path dir, int layers, long seed) throws IOException {
    new RandomCheckpoint(RandomCheckpoint.tiny(layers, false), DType.F32, seed, 1).write(dir);
    return ReferenceEngine.load(dir);
  }

  TestRig(InferenceEngine engine, EdgeConfig config, Transport transport) throws IOException {
    this.engine = engine;
    this.metrics = new EdgeMetrics(new SimpleMeterRegistry());
    SplitInferenceService service =
        new SplitInferenceService(
            new EdgeModel(MODEL_ID, SHA, engine, id -> "<" + id + ">"), config, metrics);
    this.server = new EdgeServer(service, metrics);
    if (transport == Transport.TCP) {
      server.start(new InetSocketAddress("127.0.0.1", 0));
      channel =
          NettyChannelBuilder.forAddress("127.0.0.1", server.port())
              .usePlaintext()
              .maxInboundMessageSize(64 << 20)
              .build();
    } else {
      String name = "edge-" + UUID.randomUUID();
      server.startInProcess(name);
      channel = InProcessChannelBuilder.forName(name).directExecutor().build();
    }
  }

  /** {@code n} seeded random token ids of {@code engine}'s vocabulary (no special ids 0..2). */
  static int[] randomIds(InferenceEngine engine, java.util.SplittableRandom r, int n) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = 3 + r.nextInt(engine.config().vocabSize() - 3);
    }
    return p;
  }

  /** a, then b. */
  static int[] concat(int[] a, int[] b) {
    int[] c = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }

  UeClient client() {
    return new UeClient(channel, new UeModel(MODEL_ID, SHA, engine));
  }

  SplitInferenceService service() {
    return server.service();
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow();
    channel.awaitTermination(5, TimeUnit.SECONDS);
    server.stop();
  }
}
