package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.KvTransfer;
import io.splitinfer.proto.v1.Pilot;
import io.splitinfer.proto.v1.SamplingParams;
import io.splitinfer.proto.v1.SessionClose;
import io.splitinfer.proto.v1.SessionOpen;
import io.splitinfer.proto.v1.SplitInferenceGrpc;
import io.splitinfer.proto.v1.SplitSwitch;
import io.splitinfer.proto.v1.Tensor;
import io.splitinfer.proto.v1.UeMessage;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.LocalGenerator;
import io.splitinfer.ue.UeClient;
import io.splitinfer.ue.UeModel;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Coverage-guided fuzzing (Jazzer) of the edge's message handling: each input is one Session stream
 * on an in-process edge (tiny model, small KV budget) carrying up to 8 frames, each either raw
 * bytes (through the edge's own unmarshaller) or a UeMessage built from the input with fields near
 * and far from valid (open, hidden states, split switches, KV blocks, pilots, close). Properties:
 *
 * <ul>
 *   <li>the stream ends (after the UE half-closes) with OK or a specific refusal status with a
 *       description; INTERNAL, UNKNOWN or any other code is a finding, as is a stream that does not
 *       end within 10 s;
 *   <li>afterwards no session is left and no KV is reserved or held (nothing leaks, every
 *       allocation was released), and the edge never allocated beyond its KV budget;
 *   <li>every 256 inputs, and when the test ends, a healthy session generates exactly what the
 *       monolithic model does.
 * </ul>
 *
 * <p>{@code mvn -B verify} fuzzes it for 20 s ({@link EdgeMessageQuickFuzzTest}, in edge-server's
 * {@code fuzz} surefire execution with {@code JAZZER_FUZZ=1}); {@code -Pheavy} for 10 minutes
 * ({@link EdgeMessageLongFuzzTest}).
 */
final class EdgeMessageFuzzTarget implements AutoCloseable {
  static final int LAYERS = 3;
  static final int CHUNK = 8;
  static final long KV_BUDGET = 2L << 20;
  static final Set<Status.Code> REFUSALS =
      Set.of(
          Status.Code.OK,
          Status.Code.INVALID_ARGUMENT,
          Status.Code.FAILED_PRECONDITION,
          Status.Code.NOT_FOUND,
          Status.Code.RESOURCE_EXHAUSTED,
          Status.Code.OUT_OF_RANGE,
          Status.Code.DEADLINE_EXCEEDED);

  static final MethodDescriptor<byte[], byte[]> SESSION =
      MethodDescriptor.<byte[], byte[]>newBuilder()
          .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
          .setFullMethodName(SplitInferenceGrpc.getSessionMethod().getFullMethodName())
          .setRequestMarshaller(new Bytes())
          .setResponseMarshaller(new Bytes())
          .build();

  final Path dir;
  final InferenceEngine engine;
  final ModelConfig mc;
  final EdgeServer server;
  final ManagedChannel channel;
  long inputs;

  EdgeMessageFuzzTarget() throws IOException {
    dir = Files.createTempDirectory("edge-fuzz");
    engine = TestRig.tinyEngine(dir, LAYERS, 3);
    mc = engine.config();
    EdgeConfig config =
        EdgeConfig.defaults()
            .withMaxChunkTokens(CHUNK)
            .withKvBudgetBytes(KV_BUDGET)
            .withMaxSessions(4)
            .withIdleTtl(Duration.ofSeconds(5));
    EdgeMetrics metrics = new EdgeMetrics(new SimpleMeterRegistry());
    server =
        new EdgeServer(
            new SplitInferenceService(
                new EdgeModel(TestRig.MODEL_ID, TestRig.SHA, engine, id -> "<" + id + ">"),
                config,
                metrics),
            metrics);
    String name = "edge-fuzz-" + UUID.randomUUID();
    server.startInProcess(name);
    channel = InProcessChannelBuilder.forName(name).directExecutor().build();
  }

  /** One fuzz input: one stream, its end status checked, then the edge checked for leftovers. */
  void oneStream(FuzzedDataProvider data) throws Exception {
    CompletableFuture<Status> end = new CompletableFuture<>();
    ClientCall<byte[], byte[]> call = channel.newCall(SESSION, CallOptions.DEFAULT);
    call.start(
        new ClientCall.Listener<>() {
          @Override
          public void onClose(Status status, Metadata trailers) {
            end.complete(status);
          }
        },
        new Metadata());
    call.request(Integer.MAX_VALUE);
    int frames = data.consumeInt(1, 8);
    boolean opened = false;
    for (int i = 0; i < frames && !end.isDone(); i++) {
      byte[] frame;
      if (data.consumeInt(0, 9) == 0) {
        frame = data.consumeBytes(data.consumeInt(0, 4096));
      } else {
        boolean open = !opened && data.consumeInt(0, 3) != 0;
        opened |= open;
        frame = (open ? open(data) : message(data)).toByteArray();
      }
      call.sendMessage(frame);
    }
    call.halfClose();
    Status s;
    try {
      s = end.get(10, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      call.cancel("fuzz: no end", null);
      throw new AssertionError("the stream did not end within 10 s of the half-close");
    }
    if (!REFUSALS.contains(s.getCode())) {
      throw new AssertionError("finding: stream ended with " + s, s.getCause());
    }
    if (!s.isOk() && (s.getDescription() == null || s.getDescription().isBlank())) {
      throw new AssertionError("refusal without a description: " + s);
    }
    SplitInferenceService svc = server.service();
    for (int i = 0; i < 200 && svc.liveSessions() > 0; i++) {
      Thread.sleep(5);
    }
    assertEquals(0, svc.liveSessions(), "sessions left after the stream ended");
    assertEquals(0, svc.kvBytesReserved(), "KV reserved after the stream ended");
    assertEquals(0, svc.kvBytesHeld(), "KV held after the stream ended");
    if (++inputs % 256 == 0) {
      healthySession();
    }
  }

  /** A well-behaved UE still gets exactly the monolithic model's tokens. */
  void healthySession() {
    int[] prompt = {5, 17, 42, 9, 33, 61, 7, 12, 88, 4};
    int[] want = new LocalGenerator(engine).greedy(prompt, 6, CHUNK).tokens();
    UeClient ue = new UeClient(channel, new UeModel(TestRig.MODEL_ID, TestRig.SHA, engine));
    assertArrayEquals(
        want,
        ue.generator().generate(GenerateRequest.greedy(prompt, 6), 1, t -> {}).tokenIds(),
        "a healthy session after fuzzing");
  }

  private UeMessage open(FuzzedDataProvider d) {
    boolean valid = d.consumeBoolean();
    SessionOpen.Builder o =
        SessionOpen.newBuilder()
            .setSessionId(valid ? "s" : d.consumeString(8))
            .setUeId(d.consumeString(8))
            .setModelId(valid || d.consumeBoolean() ? TestRig.MODEL_ID : d.consumeString(8))
            .setModelSha256(valid || d.consumeBoolean() ? TestRig.SHA : d.consumeString(8))
            .setModeValue(d.consumeInt(-1, 3))
            .setSampling(
                SamplingParams.newBuilder()
                    .setTemperature(d.consumeBoolean() ? 0 : d.consumeFloat())
                    .setTopK(d.consumeInt())
                    .setTopP(d.consumeFloat())
                    .setSeed(d.consumeLong()))
            .setMaxNewTokens(d.consumeBoolean() ? d.consumeInt(0, 8) : d.consumeInt())
            .setSplit(d.consumeInt(-2, LAYERS + 2))
            .setEpoch(d.consumeLong())
            .setWireDtypeValue(d.consumeInt(-1, 6))
            .setStopAtEos(d.consumeBoolean());
    return UeMessage.newBuilder().setOpen(o).build();
  }

  private UeMessage message(FuzzedDataProvider d) {
    String id = d.consumeInt(0, 7) == 0 ? d.consumeString(6) : "s";
    long epoch = d.consumeBoolean() ? 0 : d.consumeLong();
    return switch (d.consumeInt(0, 5)) {
      case 0 ->
          UeMessage.newBuilder()
              .setHidden(
                  HiddenState.newBuilder()
                      .setSessionId(id)
                      .setEpoch(epoch)
                      .setSplitLayer(d.consumeInt(-1, LAYERS + 1))
                      .setFirstPosition(d.consumeBoolean() ? 0 : d.consumeLong(-1, 600))
                      .setTensor(tensor(d, d.consumeInt(-1, CHUNK + 2), mc.hiddenSize()))
                      .addAllTargetIds(
                          java.util.Arrays.stream(d.consumeInts(d.consumeInt(0, CHUNK + 1)))
                              .boxed()
                              .toList())
                      .setSample(d.consumeBoolean())
                      .setErasureMask(ByteString.copyFrom(d.consumeBytes(d.consumeInt(0, 8))))
                      .setPacketElements(d.consumeInt(-1, 100))
                      .setStep(d.consumeLong()))
              .build();
      case 1 ->
          UeMessage.newBuilder()
              .setSplitSwitch(
                  SplitSwitch.newBuilder()
                      .setSessionId(id)
                      .setEpoch(d.consumeLong(0, 3))
                      .setNewSplit(d.consumeInt(-2, LAYERS + 2))
                      .setEffectivePosition(d.consumeLong(-1, 40))
                      .setReason(d.consumeString(10)))
              .build();
      case 2 -> {
        int t = d.consumeInt(-1, CHUNK + 2);
        yield UeMessage.newBuilder()
            .setKv(
                KvTransfer.newBuilder()
                    .setSessionId(id)
                    .setEpoch(d.consumeLong(0, 3))
                    .setLayer(d.consumeInt(-1, LAYERS + 1))
                    .setFirstPosition(d.consumeLong(-1, 40))
                    .setKey(kvTensor(d, t))
                    .setValue(kvTensor(d, t)))
            .build();
      }
      case 3 ->
          UeMessage.newBuilder()
              .setPilot(
                  Pilot.newBuilder()
                      .setSessionId(id)
                      .setSeed(d.consumeLong())
                      .setSamples(tensor(d, 1, d.consumeInt(-1, 2048)))
                      .setSequence(d.consumeLong())
                      .setErasureMask(ByteString.copyFrom(d.consumeBytes(d.consumeInt(0, 8))))
                      .setPacketElements(d.consumeInt(-1, 2048)))
              .build();
      case 4 -> UeMessage.newBuilder().setClose(SessionClose.newBuilder().setSessionId(id)).build();
      default -> UeMessage.newBuilder().build();
    };
  }

  private Tensor kvTensor(FuzzedDataProvider d, int t) {
    Tensor.Builder b = Tensor.newBuilder();
    b.addShape(d.consumeBoolean() ? mc.numKvHeads() : d.consumeLong(-1, 9));
    b.addShape(t);
    b.addShape(d.consumeBoolean() ? mc.headDim() : d.consumeLong(-1, 40));
    return fill(d, b, (long) mc.numKvHeads() * Math.max(0, t) * mc.headDim());
  }

  /** A tensor of [rows, cols] (or a fuzzed shape), f32 data of the right size or fuzzed bytes. */
  private Tensor tensor(FuzzedDataProvider d, int rows, int cols) {
    Tensor.Builder b = Tensor.newBuilder();
    if (d.consumeInt(0, 5) == 0) {
      int dims = d.consumeInt(0, 4);
      for (int i = 0; i < dims; i++) {
        b.addShape(d.consumeLong());
      }
    } else {
      b.addShape(rows).addShape(cols);
    }
    return fill(d, b, (long) Math.max(0, rows) * Math.max(0, cols));
  }

  private Tensor fill(FuzzedDataProvider d, Tensor.Builder b, long elements) {
    b.setDtypeValue(d.consumeInt(0, 9) == 0 ? d.consumeInt(-1, 6) : 1);
    b.setByteOrderValue(d.consumeInt(0, 9) == 0 ? d.consumeInt(0, 2) : 0);
    b.setScale(d.consumeBoolean() ? 0 : d.consumeFloat());
    byte[] data;
    if (d.consumeInt(0, 3) != 0 && elements <= 4096) {
      // f32 values of the size the shape asks for: mostly normal numbers, some NaN/Inf
      java.nio.ByteBuffer buf =
          java.nio.ByteBuffer.allocate((int) elements * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      boolean wild = d.consumeInt(0, 7) == 0;
      for (long i = 0; i < elements; i++) {
        buf.putFloat(wild ? d.consumeFloat() : d.consumeRegularFloat(-4, 4));
      }
      data = buf.array();
    } else {
      data = d.consumeBytes(d.consumeInt(0, 4096));
    }
    return b.setData(ByteString.copyFrom(data)).build();
  }

  @Override
  public void close() throws Exception {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    server.stop();
    engine.close();
  }

  /** Identity marshaller: frames go on the wire as given. */
  static final class Bytes implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }
}
