package io.splitinfer.channelsim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.SessionOpen;
import io.splitinfer.proto.v1.UeMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Proxy at zero impairment == direct link, byte for byte. */
class ProxyPassThroughTest {
  static ProxyHarness h;

  @BeforeAll
  static void up() throws Exception {
    h = new ProxyHarness(ChannelParams.IDEAL);
  }

  @AfterAll
  static void down() throws Exception {
    h.close();
  }

  static List<byte[]> frames(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<byte[]> out = new ArrayList<>();
    out.add(
        UeMessage.newBuilder()
            .setOpen(SessionOpen.newBuilder().setSessionId("s").setSplit(3))
            .build()
            .toByteArray());
    for (int i = 1; i < n; i++) {
      if (i % 3 == 0) {
        byte[] junk = new byte[r.nextInt(1, 5000)];
        r.nextBytes(junk);
        out.add(junk); // not a UeMessage at all: must pass untouched
      } else {
        int t = r.nextInt(1, 40);
        float[] v = new float[t * 64];
        for (int j = 0; j < v.length; j++) {
          v[j] = (float) r.nextGaussian();
        }
        DType dt = i % 2 == 0 ? DType.DTYPE_F16 : DType.DTYPE_F32;
        out.add(
            UeMessage.newBuilder()
                .setHidden(
                    HiddenState.newBuilder()
                        .setSessionId("s")
                        .setFirstPosition(i)
                        .setTensor(TensorCodec.encode(v, dt, t, 64))
                        .addTargetIds(i))
                .build()
                .toByteArray());
      }
    }
    return out;
  }

  @Test
  void sessionFramesPassByteIdenticalBothWays() throws Exception {
    List<byte[]> sent = frames(60, 1);
    h.edge.received.clear();
    ProxyHarness.Session s = new ProxyHarness.Session(h.ue);
    List<byte[]> back = new ArrayList<>();
    for (byte[] f : sent) {
      s.call.sendMessage(f);
      back.add(s.next());
    }
    assertEquals(Status.Code.OK, s.finish().getCode());
    assertEquals(sent.size(), h.edge.received.size());
    for (int i = 0; i < sent.size(); i++) {
      assertArrayEquals(sent.get(i), h.edge.received.get(i), "uplink frame " + i);
      assertArrayEquals(sent.get(i), back.get(i), "downlink frame " + i);
    }
    assertEquals(0, h.sim.simulator().statistics().getMessages());
  }

  @Test
  void unknownServicePassesWithMetadataStatusAndTrailers() throws Exception {
    for (Status.Code code : new Status.Code[] {null, Status.Code.ALREADY_EXISTS}) {
      Result viaProxy = unary(h.ue.newCall(FakeEdge.UNKNOWN, CallOptions.DEFAULT), code);
      Result direct = unary(h.direct.newCall(FakeEdge.UNKNOWN, CallOptions.DEFAULT), code);
      assertEquals(direct.status.getCode(), viaProxy.status.getCode());
      assertEquals(direct.status.getDescription(), viaProxy.status.getDescription());
      assertEquals("hello-meta", viaProxy.headers.get(FakeEdge.X_RESP));
      assertEquals("trailer-value", viaProxy.trailers.get(FakeEdge.X_TRAIL));
      assertArrayEquals(direct.body, viaProxy.body);
      assertArrayEquals(new byte[] {1, 2, 3, 4}, viaProxy.body);
    }
  }

  @Test
  void healthIsServedLocally() {
    HealthCheckResponse r =
        HealthGrpc.newBlockingStub(h.ue).check(HealthCheckRequest.newBuilder().build());
    assertEquals(HealthCheckResponse.ServingStatus.SERVING, r.getStatus());
  }

  record Result(Status status, Metadata headers, Metadata trailers, byte[] body) {}

  static Result unary(ClientCall<byte[], byte[]> call, Status.Code code) throws Exception {
    CompletableFuture<Result> done = new CompletableFuture<>();
    Metadata md = new Metadata();
    md.put(FakeEdge.X_REQ, "hello-meta");
    if (code != null) {
      md.put(FakeEdge.X_STATUS, code.name());
    }
    call.start(
        new ClientCall.Listener<>() {
          Metadata headers = new Metadata();
          byte[] body;

          @Override
          public void onHeaders(Metadata m) {
            headers = m;
          }

          @Override
          public void onMessage(byte[] m) {
            body = m;
          }

          @Override
          public void onClose(Status s, Metadata t) {
            done.complete(new Result(s, headers, t, body));
          }
        },
        md);
    call.request(2);
    call.sendMessage(new byte[] {1, 2, 3, 4});
    call.halfClose();
    return done.get(10, TimeUnit.SECONDS);
  }
}
