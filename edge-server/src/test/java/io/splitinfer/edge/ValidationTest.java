package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.SessionMode;
import io.splitinfer.proto.v1.SessionOpen;
import io.splitinfer.proto.v1.SplitInferenceGrpc;
import io.splitinfer.proto.v1.SplitSwitch;
import io.splitinfer.proto.v1.UeMessage;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.LocalGenerator;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every bad input gets its documented status, is counted by reason, frees the session, and the edge
 * keeps serving a concurrent healthy session. Over loopback TCP (the real transport).
 */
class ValidationTest {
  static final int LAYERS = 4;
  static final int D = 32;

  @TempDir static Path dir;
  static InferenceEngine engine;

  @BeforeAll
  static void load() throws Exception {
    engine = TestRig.tinyEngine(dir, LAYERS, 11);
  }

  @AfterAll
  static void close() {
    engine.close();
  }

  static SessionOpen.Builder open(String id, int split) {
    return SessionOpen.newBuilder()
        .setSessionId(id)
        .setUeId("ue-test")
        .setModelId(TestRig.MODEL_ID)
        .setModelSha256(TestRig.SHA)
        .setMode(SessionMode.SESSION_MODE_GENERATE)
        .setMaxNewTokens(5)
        .setSplit(split)
        .setWireDtype(DType.DTYPE_F32);
  }

  static UeMessage msg(SessionOpen.Builder o) {
    return UeMessage.newBuilder().setOpen(o).build();
  }

  static HiddenState.Builder hidden(String id, int split, long pos, float[] values, long... shape) {
    return HiddenState.newBuilder()
        .setSessionId(id)
        .setSplitLayer(split)
        .setFirstPosition(pos)
        .setSample(true)
        .setTensor(TensorCodec.encode(values, DType.DTYPE_F32, shape));
  }

  static UeMessage msg(HiddenState.Builder h) {
    return UeMessage.newBuilder().setHidden(h).build();
  }

  static float[] ones(int n) {
    float[] v = new float[n];
    java.util.Arrays.fill(v, 0.5f);
    return v;
  }

  /**
   * Runs {@code bad} against a fresh edge while a healthy session is open; checks the status and
   * its description, the rejection counter, that the bad session was freed, and that the healthy
   * session then completes with the right tokens.
   */
  void expectRefusal(
      EdgeConfig config,
      Status.Code code,
      String descriptionPart,
      String reason,
      Function<TestRig, Status> bad)
      throws Exception {
    try (TestRig rig = new TestRig(engine, config, TestRig.Transport.TCP)) {
      // A healthy session, open and mid-generation while the bad one runs.
      int[] prompt = {5, 6, 7, 8};
      CompletableFuture<int[]> healthy = new CompletableFuture<>();
      java.util.concurrent.CountDownLatch firstToken = new java.util.concurrent.CountDownLatch(1);
      java.util.concurrent.CountDownLatch proceed = new java.util.concurrent.CountDownLatch(1);
      Thread t =
          new Thread(
              () -> {
                try {
                  healthy.complete(
                      rig.client()
                          .generator()
                          .generate(
                              GenerateRequest.greedy(prompt, 8),
                              2,
                              tok -> {
                                if (tok.getPosition() == prompt.length) {
                                  firstToken.countDown();
                                  try {
                                    proceed.await(10, TimeUnit.SECONDS);
                                  } catch (InterruptedException e) {
                                    Thread.currentThread().interrupt();
                                  }
                                }
                              })
                          .tokenIds());
                } catch (Throwable e) {
                  healthy.completeExceptionally(e);
                }
              });
      t.start();
      assertTrue(firstToken.await(10, TimeUnit.SECONDS));
      Status s = bad.apply(rig);
      assertEquals(code, s.getCode(), "status " + s);
      assertTrue(
          s.getDescription() != null && s.getDescription().contains(descriptionPart),
          "description '" + s.getDescription() + "' lacks '" + descriptionPart + "'");
      proceed.countDown();
      int[] want = new LocalGenerator(engine).greedy(prompt, 8, 512).tokens();
      assertArrayEquals(want, healthy.get(10, TimeUnit.SECONDS));
      waitFor(() -> rig.service().liveSessions() == 0);
      assertEquals(0, rig.service().kvBytesReserved());
      if (reason != null) {
        waitFor(() -> rig.metrics.rejectedCount(reason) >= 1);
      }
    }
  }

  static void waitFor(java.util.function.BooleanSupplier cond) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!cond.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("condition not reached in 10 s");
      }
      Thread.sleep(10);
    }
  }

  static Status run(TestRig rig, UeMessage... messages) {
    RawSession s = new RawSession(rig.channel);
    for (UeMessage m : messages) {
      s.send(m);
    }
    try {
      return s.awaitStatus();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  static String id() {
    return UUID.randomUUID().toString();
  }

  EdgeConfig config = EdgeConfig.defaults().withMaxChunkTokens(16);

  @Test
  void wrongShape() throws Exception {
    String id = id();
    expectRefusal(
        config,
        Status.Code.INVALID_ARGUMENT,
        "must be [T, 32]",
        "wrong_shape",
        rig -> run(rig, msg(open(id, 1)), msg(hidden(id, 1, 0, ones(2 * 16), 2, 16))));
  }

  @Test
  void tooManyRowsInOneChunk() throws Exception {
    String id = id();
    expectRefusal(
        config,
        Status.Code.INVALID_ARGUMENT,
        "1 <= T <= 16",
        "wrong_shape",
        rig -> run(rig, msg(open(id, 1)), msg(hidden(id, 1, 0, ones(17 * D), 17, D))));
  }

  @Test
  void wrongDtype() throws Exception {
    String id = id();
    UeMessage h =
        msg(
            hidden(id, 1, 0, ones(D), 1, D)
                .setTensor(TensorCodec.encode(ones(D), DType.DTYPE_F16, 1, D)));
    expectRefusal(
        config,
        Status.Code.INVALID_ARGUMENT,
        "wire dtype is DTYPE_F32",
        "wrong_dtype",
        rig -> run(rig, msg(open(id, 1)), h));
  }

  @Test
  void nanAndInfinity() throws Exception {
    for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
      String id = id();
      float[] v = ones(3 * D);
      v[D + 5] = bad;
      expectRefusal(
          config,
          Status.Code.INVALID_ARGUMENT,
          "non-finite value (" + bad + ") at row 1, column 5",
          "non_finite",
          rig -> run(rig, msg(open(id, 1)), msg(hidden(id, 1, 0, v, 3, D))));
    }
  }

  @Test
  void oversizedMessage() throws Exception {
    String id = id();
    expectRefusal(
        config,
        Status.Code.RESOURCE_EXHAUSTED,
        "exceeds maximum",
        "message_too_large",
        rig -> {
          int n = rig.service().maxMessageBytes() / 4 + 1000;
          HiddenState.Builder h =
              hidden(id, 1, 0, ones(D), 1, D)
                  .setTensor(
                      io.splitinfer.proto.v1.Tensor.newBuilder()
                          .addShape(n / D)
                          .addShape(D)
                          .setDtype(DType.DTYPE_F32)
                          .setData(ByteString.copyFrom(new byte[(n / D) * D * 4])));
          return run(rig, msg(open(id, 1)), msg(h));
        });
  }

  @Test
  void unknownSession() throws Exception {
    String id = id();
    expectRefusal(
        config,
        Status.Code.NOT_FOUND,
        "unknown session 'nobody'",
        "unknown_session",
        rig -> run(rig, msg(open(id, 1)), msg(hidden("nobody", 1, 0, ones(D), 1, D))));
  }

  @Test
  void splitOutOfRange() throws Exception {
    for (int split : new int[] {-1, LAYERS + 1}) {
      expectRefusal(
          config,
          Status.Code.INVALID_ARGUMENT,
          "split " + split + " is out of range [0, 4]",
          "split_out_of_range",
          rig -> run(rig, msg(open(id(), split))));
    }
  }

  @Test
  void staleEpoch() throws Exception {
    String id = id();
    expectRefusal(
        config,
        Status.Code.FAILED_PRECONDITION,
        "stale epoch 2",
        "stale_epoch",
        rig ->
            run(
                rig,
                msg(open(id, 1).setEpoch(3)),
                msg(hidden(id, 1, 0, ones(D), 1, D).setEpoch(2))));
  }

  @Test
  void staleSplitSwitch() throws Exception {
    String id = id();
    UeMessage sw =
        UeMessage.newBuilder()
            .setSplitSwitch(SplitSwitch.newBuilder().setSessionId(id).setEpoch(5).setNewSplit(2))
            .build();
    expectRefusal(
        config,
        Status.Code.FAILED_PRECONDITION,
        "stale epoch 5",
        "stale_epoch",
        rig -> run(rig, msg(open(id, 1).setEpoch(5)), sw));
  }

  @Test
  void historyHiddenWithoutARecomputeSwitch() throws Exception {
    String id = id();
    UeMessage h =
        UeMessage.newBuilder()
            .setHistory(
                io.splitinfer.proto.v1.HistoryHidden.newBuilder()
                    .setSessionId(id)
                    .setTensor(TensorCodec.encode(ones(D), DType.DTYPE_F32, 1, D)))
            .build();
    expectRefusal(
        config,
        Status.Code.FAILED_PRECONDITION,
        "HistoryHidden without a RECOMPUTE SplitSwitch",
        "unexpected_history",
        rig -> run(rig, msg(open(id, 1)), h));
  }

  @Test
  void historyHiddenInALossyDtype() throws Exception {
    String id = id();
    UeMessage sw =
        UeMessage.newBuilder()
            .setSplitSwitch(
                SplitSwitch.newBuilder()
                    .setSessionId(id)
                    .setEpoch(10)
                    .setNewSplit(1)
                    .setEffectivePosition(1)
                    .setMethod(io.splitinfer.proto.v1.SwitchMethod.SWITCH_METHOD_RECOMPUTE))
            .build();
    UeMessage h =
        UeMessage.newBuilder()
            .setHistory(
                io.splitinfer.proto.v1.HistoryHidden.newBuilder()
                    .setSessionId(id)
                    .setEpoch(10)
                    .setSplitLayer(1)
                    .setTensor(TensorCodec.encode(ones(D), DType.DTYPE_F16, 1, D)))
            .build();
    expectRefusal(
        config,
        Status.Code.INVALID_ARGUMENT,
        "HistoryHidden must be DTYPE_F32",
        "bad_dtype",
        rig -> run(rig, msg(open(id, 2)), msg(hidden(id, 2, 0, ones(D), 1, D)), sw, h));
  }

  @Test
  void wrongPosition() throws Exception {
    String id = id();
    expectRefusal(
        config,
        Status.Code.INVALID_ARGUMENT,
        "next expected position is 0",
        "wrong_position",
        rig -> run(rig, msg(open(id, 1)), msg(hidden(id, 1, 3, ones(D), 1, D))));
  }

  @Test
  void modelMismatch() throws Exception {
    expectRefusal(
        config,
        Status.Code.FAILED_PRECONDITION,
        "model mismatch",
        "model_mismatch",
        rig -> run(rig, msg(open(id(), 1).setModelSha256("ffff"))));
  }

  @Test
  void firstMessageNotOpen() throws Exception {
    String id = id();
    expectRefusal(
        config,
        Status.Code.FAILED_PRECONDITION,
        "first message of a session must be `open`",
        "not_open",
        rig -> run(rig, msg(hidden(id, 1, 0, ones(D), 1, D))));
  }

  @Test
  void garbageBytes() throws Exception {
    MethodDescriptor<byte[], byte[]> raw =
        SplitInferenceGrpc.getSessionMethod().toBuilder(
                new BytesMarshaller(), new BytesMarshaller())
            .build();
    expectRefusal(
        config,
        Status.Code.INVALID_ARGUMENT,
        "unparseable UeMessage",
        "unparseable",
        rig -> {
          ClientCall<byte[], byte[]> call = rig.channel.newCall(raw, CallOptions.DEFAULT);
          CompletableFuture<Status> done = new CompletableFuture<>();
          StreamObserver<byte[]> req =
              ClientCalls.asyncBidiStreamingCall(
                  call,
                  new StreamObserver<>() {
                    @Override
                    public void onNext(byte[] value) {}

                    @Override
                    public void onError(Throwable t) {
                      done.complete(Status.fromThrowable(t));
                    }

                    @Override
                    public void onCompleted() {
                      done.complete(Status.OK);
                    }
                  });
          req.onNext(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, 0x07, 0x12, 0x00, 0x33});
          try {
            return done.get(10, TimeUnit.SECONDS);
          } catch (Exception e) {
            throw new AssertionError(e);
          }
        });
  }

  @Test
  void ueVanishingMidStreamFreesTheSession() throws Exception {
    String id = id();
    expectRefusal(
        config,
        Status.Code.CANCELLED,
        "test cancels",
        null,
        rig -> {
          RawSession s = new RawSession(rig.channel);
          s.send(msg(open(id, 1)));
          try {
            assertTrue(s.next().hasAccepted());
            HiddenState.Builder h = hidden(id, 1, 0, ones(3 * D), 3, D);
            s.send(msg(h));
            assertTrue(s.next().hasToken());
            waitFor(() -> rig.service().liveSessions() == 2);
            s.cancel();
            return s.awaitStatus();
          } catch (Exception e) {
            throw new AssertionError(e);
          }
        });
  }

  @Test
  void sessionLimit() throws Exception {
    // The healthy session takes the only slot; a second is refused.
    expectRefusal(
        config.withMaxSessions(1),
        Status.Code.RESOURCE_EXHAUSTED,
        "session limit (1)",
        "max_sessions",
        rig -> run(rig, msg(open(id(), 1))));
  }

  @Test
  void kvBudget() throws Exception {
    // Per position at split 1: 3 layers x 2 x 2 heads x 8 x 4 bytes = 384 bytes. The healthy
    // session needs at most 12 positions (4608 bytes); give 6000, then ask for 16 more.
    String id = id();
    expectRefusal(
        config.withKvBudgetBytes(6000),
        Status.Code.RESOURCE_EXHAUSTED,
        "KV budget of 6000 bytes exhausted",
        "kv_budget",
        rig -> run(rig, msg(open(id, 1)), msg(hidden(id, 1, 0, ones(16 * D), 16, D))));
  }

  @Test
  void idleTtl() throws Exception {
    try (TestRig rig =
        new TestRig(engine, config.withIdleTtl(Duration.ofMillis(300)), TestRig.Transport.TCP)) {
      RawSession idle = new RawSession(rig.channel);
      idle.send(msg(open(id(), 1)));
      // A busy session meanwhile is not idle and completes.
      int[] prompt = {9, 8, 7};
      int[] got =
          rig.client()
              .generator()
              .generate(
                  GenerateRequest.greedy(prompt, 20),
                  3,
                  t -> {
                    try {
                      Thread.sleep(30);
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                    }
                  })
              .tokenIds();
      assertArrayEquals(new LocalGenerator(engine).greedy(prompt, 20, 512).tokens(), got);
      Status s = idle.awaitStatus();
      assertEquals(Status.Code.DEADLINE_EXCEEDED, s.getCode());
      assertTrue(s.getDescription().contains("idle for more than 300 ms"), s.getDescription());
      waitFor(() -> rig.service().liveSessions() == 0);
      assertEquals(1, rig.metrics.rejectedCount("idle_ttl"));
    }
  }

  @Test
  void messageOverTheTransportLimitIsRefusedByGrpc() throws Exception {
    try (TestRig rig = new TestRig(engine, config, TestRig.Transport.TCP)) {
      String id = id();
      int n = rig.server.maxInboundMessageBytes() / 4 + 1000;
      HiddenState.Builder h =
          hidden(id, 1, 0, ones(D), 1, D)
              .setTensor(
                  io.splitinfer.proto.v1.Tensor.newBuilder()
                      .addShape(n / D)
                      .addShape(D)
                      .setDtype(DType.DTYPE_F32)
                      .setData(ByteString.copyFrom(new byte[(n / D) * D * 4])));
      Status s = run(rig, msg(open(id, 1)), msg(h));
      assertTrue(
          s.getCode() == Status.Code.RESOURCE_EXHAUSTED || s.getCode() == Status.Code.CANCELLED,
          s.toString());
      waitFor(() -> rig.service().liveSessions() == 0);
      waitFor(() -> rig.metrics.rejectedCount("message_too_large") == 1);
      int[] prompt = {4, 5};
      assertArrayEquals(
          new LocalGenerator(engine).greedy(prompt, 4, 512).tokens(),
          rig.client()
              .generator()
              .generate(GenerateRequest.greedy(prompt, 4), 2, t -> {})
              .tokenIds());
    }
  }

  @Test
  void healthAndModelInfo() throws Exception {
    try (TestRig rig = new TestRig(engine, config, TestRig.Transport.TCP)) {
      assertEquals(
          HealthCheckResponse.ServingStatus.SERVING,
          HealthGrpc.newBlockingStub(rig.channel)
              .check(
                  HealthCheckRequest.newBuilder()
                      .setService(SplitInferenceGrpc.SERVICE_NAME)
                      .build())
              .getStatus());
      var info = rig.client().modelInfo();
      assertEquals(LAYERS, info.getNumLayers());
      assertEquals(16, info.getMaxChunkTokens());
      assertEquals(TestRig.SHA, info.getSha256());
    }
  }

  @Test
  void closeEndsWithDone() throws Exception {
    try (TestRig rig = new TestRig(engine, config, TestRig.Transport.IN_PROCESS)) {
      String id = id();
      RawSession s = new RawSession(rig.channel);
      s.send(msg(open(id, 1).setMode(SessionMode.SESSION_MODE_SCORE)));
      assertTrue(s.next().hasAccepted());
      s.send(
          UeMessage.newBuilder()
              .setClose(io.splitinfer.proto.v1.SessionClose.newBuilder().setSessionId(id))
              .build());
      EdgeMessage done = s.next();
      assertTrue(done.hasDone());
      assertEquals(Status.Code.OK, s.awaitStatus().getCode());
      waitFor(() -> rig.service().liveSessions() == 0);
    }
  }

  static final class BytesMarshaller implements MethodDescriptor.Marshaller<byte[]> {
    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
