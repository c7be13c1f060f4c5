package io.splitinfer.channelsim;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCallHandler;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.UeMessage;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Forwarding overhead at zero impairment: the round trip of a hidden-state message to an echo edge
 * and back, direct versus through channel-sim, on loopback in one JVM.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = "Measure proxy overhead at zero impairment (echo round trip, direct vs proxied).")
final class Bench implements Callable<Integer> {
  @Option(names = "--hidden", defaultValue = "2048", description = "Hidden size d.")
  int hidden;

  @Option(names = "--prefill-tokens", defaultValue = "128", description = "Rows of a prefill.")
  int prefillTokens;

  @Option(names = "--dtype", defaultValue = "f16", description = "f32 | f16 | bf16.")
  String dtype;

  @Option(names = "--iterations", defaultValue = "2000", description = "Timed messages per case.")
  int iterations;

  @Option(names = "--warmup", defaultValue = "500", description = "Untimed messages per case.")
  int warmup;

  @Option(names = "--out", defaultValue = "target/bench", description = "Directory for CSV/JSON.")
  Path out;

  record Row(String kind, String path, long bytes, int n, double p50, double p99, double mean) {}

  @Override
  public Integer call() throws Exception {
    DType dt =
        switch (dtype.toLowerCase(Locale.ROOT)) {
          case "f32" -> DType.DTYPE_F32;
          case "f16" -> DType.DTYPE_F16;
          case "bf16" -> DType.DTYPE_BF16;
          default -> throw new IllegalArgumentException("--dtype: f32, f16 or bf16");
        };
    MethodDescriptor<byte[], byte[]> session =
        MethodDescriptor.newBuilder(
                ProxyRegistry.ByteMarshaller.INSTANCE, ProxyRegistry.ByteMarshaller.INSTANCE)
            .setFullMethodName(ProxyRegistry.SESSION)
            .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
            .build();
    ServerCallHandler<byte[], byte[]> echo =
        (call, headers) -> {
          call.sendHeaders(new Metadata());
          call.request(1);
          return new io.grpc.ServerCall.Listener<>() {
            @Override
            public void onMessage(byte[] m) {
              call.sendMessage(m);
              call.request(1);
            }

            @Override
            public void onHalfClose() {
              call.close(Status.OK, new Metadata());
            }
          };
        };
    Server edge =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
            .maxInboundMessageSize(256 << 20)
            .addService(
                ServerServiceDefinition.builder("splitinfer.v1.SplitInference")
                    .addMethod(session, echo)
                    .build())
            .build()
            .start();
    List<Row> rows = new ArrayList<>();
    try (ChannelSimServer sim =
        new ChannelSimServer(
                new ChannelSimServer.Config(
                    "127.0.0.1",
                    0,
                    "127.0.0.1:" + edge.getPort(),
                    ChannelParams.IDEAL,
                    null,
                    0,
                    256 << 20),
                new SimpleMeterRegistry())
            .start()) {
      for (int t : new int[] {1, prefillTokens}) {
        byte[] msg = message(t, dt);
        String kind = (t == 1 ? "decode" : "prefill") + " [" + t + "," + hidden + "] " + dtype;
        int n = t == 1 ? iterations : Math.max(50, iterations / 10);
        int w = t == 1 ? warmup : Math.max(20, warmup / 10);
        for (String path : new String[] {"direct", "proxied", "direct", "proxied"}) {
          int port = path.equals("direct") ? edge.getPort() : sim.port();
          double[] ms = measure(port, session, msg, w, n);
          rows.add(row(kind, path, msg.length, ms));
        }
      }
    } finally {
      edge.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    // keep the second (warmer) measurement of each pair
    List<Row> kept = new ArrayList<>();
    for (int i = 0; i < rows.size(); i += 4) {
      kept.add(rows.get(i + 2));
      kept.add(rows.get(i + 3));
    }
    print(kept);
    write(kept);
    return 0;
  }

  private byte[] message(int t, DType dt) {
    SplittableRandom r = new SplittableRandom(1);
    float[] v = new float[t * hidden];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return UeMessage.newBuilder()
        .setHidden(
            HiddenState.newBuilder()
                .setSessionId("bench")
                .setTensor(TensorCodec.encode(v, dt, t, hidden))
                .setSample(true))
        .build()
        .toByteArray();
  }

  private static double[] measure(
      int port, MethodDescriptor<byte[], byte[]> method, byte[] msg, int warmup, int n)
      throws Exception {
    ManagedChannel ch =
        NettyChannelBuilder.forAddress("127.0.0.1", port)
            .usePlaintext()
            .maxInboundMessageSize(256 << 20)
            .build();
    try {
      BlockingQueue<byte[]> replies = new ArrayBlockingQueue<>(16);
      ClientCall<byte[], byte[]> call = ch.newCall(method, CallOptions.DEFAULT);
      call.start(
          new ClientCall.Listener<>() {
            @Override
            public void onMessage(byte[] m) {
              replies.add(m);
              call.request(1);
            }
          },
          new Metadata());
      call.request(1);
      double[] ms = new double[n];
      for (int i = 0; i < warmup + n; i++) {
        long t0 = System.nanoTime();
        call.sendMessage(msg);
        byte[] back = replies.poll(30, TimeUnit.SECONDS);
        long dt = System.nanoTime() - t0;
        if (back == null || back.length != msg.length) {
          throw new IllegalStateException("echo failed at message " + i);
        }
        if (i >= warmup) {
          ms[i - warmup] = dt / 1e6;
        }
      }
      call.halfClose();
      return ms;
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static Row row(String kind, String path, long bytes, double[] ms) {
    double[] s = ms.clone();
    Arrays.sort(s);
    return new Row(
        kind,
        path,
        bytes,
        s.length,
        quantile(s, 0.5),
        quantile(s, 0.99),
        Arrays.stream(s).average().orElse(Double.NaN));
  }

  private static double quantile(double[] sorted, double q) {
    int i = (int) Math.ceil(q * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }

  private static void print(List<Row> rows) {
    System.out.println(
        "| message | bytes | path | n | p50 ms | p99 ms | mean ms | p50 overhead ms |");
    System.out.println("|---|---:|---|---:|---:|---:|---:|---:|");
    for (int i = 0; i < rows.size(); i++) {
      Row r = rows.get(i);
      String over =
          r.path().equals("proxied")
              ? String.format(Locale.ROOT, "%.3f", r.p50() - rows.get(i - 1).p50())
              : "";
      System.out.printf(
          Locale.ROOT,
          "| %s | %d | %s | %d | %.3f | %.3f | %.3f | %s |%n",
          r.kind(),
          r.bytes(),
          r.path(),
          r.n(),
          r.p50(),
          r.p99(),
          r.mean(),
          over);
    }
  }

  private void write(List<Row> rows) throws Exception {
    Files.createDirectories(out);
    StringBuilder csv = new StringBuilder("message,bytes,path,n,p50_ms,p99_ms,mean_ms\n");
    StringBuilder json = new StringBuilder("[\n");
    for (int i = 0; i < rows.size(); i++) {
      Row r = rows.get(i);
      csv.append(
          String.format(
              Locale.ROOT,
              "\"%s\",%d,%s,%d,%.4f,%.4f,%.4f%n",
              r.kind(),
              r.bytes(),
              r.path(),
              r.n(),
              r.p50(),
              r.p99(),
              r.mean()));
      json.append(
          String.format(
              Locale.ROOT,
              "  {\"message\": \"%s\", \"bytes\": %d, \"path\": \"%s\", \"n\": %d,"
                  + " \"p50_ms\": %.4f, \"p99_ms\": %.4f, \"mean_ms\": %.4f}%s%n",
              r.kind(),
              r.bytes(),
              r.path(),
              r.n(),
              r.p50(),
              r.p99(),
              r.mean(),
              i + 1 < rows.size() ? "," : ""));
    }
    json.append("]\n");
    Files.writeString(out.resolve("proxy-overhead.csv"), csv);
    Files.writeString(out.resolve("proxy-overhead.json"), json);
    System.out.println("wrote " + out.resolve("proxy-overhead.csv") + " and .json");
  }
}
