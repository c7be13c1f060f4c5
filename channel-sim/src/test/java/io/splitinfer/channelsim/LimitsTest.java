package io.splitinfer.channelsim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.proto.v1.ByteOrder;
import io.splitinfer.proto.v1.ChannelParameters;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.GetParametersRequest;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.LinkShape;
import io.splitinfer.proto.v1.LoadScenarioRequest;
import io.splitinfer.proto.v1.Tensor;
import io.splitinfer.proto.v1.UeMessage;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Hostile inputs to channel-sim: an oversized message, absurd channel parameters and a tensor that
 * decodes to infinities each get their own status, are counted, and leave a healthy session served.
 */
class LimitsTest {
  /** A healthy session: every frame comes back from the echoing fake edge. */
  static void healthySession(ProxyHarness h) throws Exception {
    ProxyHarness.Session ok = new ProxyHarness.Session(h.ue);
    for (byte[] f : ProxyPassThroughTest.frames(6, 11)) {
      ok.call.sendMessage(f);
      ok.next();
    }
    assertEquals(Status.Code.OK, ok.finish().getCode());
  }

  @Test
  void oversizedMessageIsRefusedBeforeItReachesTheEdge() throws Exception {
    int max = 1 << 20;
    try (ProxyHarness h =
        new ProxyHarness(
            ChannelParams.builder().sigma(1).seed(3).build(),
            max,
            new FakeEdge().start(),
            ChannelSimServer.Security.LEGACY)) {
      ProxyHarness.Session big = new ProxyHarness.Session(h.ue);
      big.call.sendMessage(ProxyPassThroughTest.frames(1, 1).get(0)); // open
      big.next();
      big.call.sendMessage(new byte[max + 1]);
      Status s = big.awaitClose();
      assertEquals(Status.Code.RESOURCE_EXHAUSTED, s.getCode(), s.toString());
      assertTrue(s.getDescription().contains("--max-message-bytes " + max), s.getDescription());
      assertEquals(1, h.rejected("message_too_large"));
      // far over the bound: the transport refuses it from its length prefix (never buffered);
      // after a first message grpc-java reports that as CANCELLED (grpc-java issue 11245)
      ProxyHarness.Session huge = new ProxyHarness.Session(h.ue);
      huge.call.sendMessage(ProxyPassThroughTest.frames(1, 1).get(0));
      huge.next();
      huge.call.sendMessage(new byte[3 * max]);
      Status hs = huge.awaitClose();
      assertTrue(
          hs.getCode() == Status.Code.CANCELLED || hs.getCode() == Status.Code.RESOURCE_EXHAUSTED,
          hs.toString());
      assertEquals(1, h.rejected("message_too_large"), "never reached the proxy");
      assertEquals(2, h.edge.received.size(), "only the two opens reached the edge");
      healthySession(h);
      // exactly at the bound still passes
      ProxyHarness.Session edgeCase = new ProxyHarness.Session(h.ue);
      byte[] atMax = new byte[max - 64];
      edgeCase.call.sendMessage(atMax);
      assertArrayEquals(atMax, edgeCase.next());
      edgeCase.finish();
    }
  }

  @Test
  void defaultBoundRefusesAMessageOverOneChunk() {
    assertEquals(16 << 20, ChannelSimServer.DEFAULT_MAX_MESSAGE_BYTES);
    assertThrows(
        IllegalArgumentException.class,
        () ->
            new ChannelSimServer.Config(
                "127.0.0.1", 0, "localhost:1", ChannelParams.IDEAL, null, 0, 10));
  }

  @Test
  void absurdParametersAndScenariosAreInvalidArgumentAndChangeNothing() throws Exception {
    ChannelParams start = ChannelParams.builder().sigma(0.1).seed(5).build();
    try (ProxyHarness h = new ProxyHarness(start)) {
      var c = h.control();
      ChannelParameters before = c.getParameters(GetParametersRequest.getDefaultInstance());
      List<ChannelParameters> badParams =
          List.of(
              before.toBuilder().setSigma(1e308).build(),
              before.toBuilder().setSigma(Double.NaN).build(),
              before.toBuilder().setUseSnr(true).setSnrDb(-200).build(),
              before.toBuilder().setSigmaH(1e200).build(),
              before.toBuilder().setUplink(LinkShape.newBuilder().setDelayMs(1e300)).build(),
              before.toBuilder().setDownlink(LinkShape.newBuilder().setRateBps(1e-300)).build());
      for (ChannelParameters p : badParams) {
        StatusRuntimeException e =
            assertThrows(StatusRuntimeException.class, () -> c.setParameters(p));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), p.toString());
      }
      List<String> badScenarios =
          List.of(
              "{\"base\": {\"sigma\": 1e308}}",
              "{\"segments\": [{\"duration\": 5, \"sigmaRange\": [0, 1e308]}]}",
              "{\"segments\": [{\"duration\": 5, \"set\": {\"uplink\": {\"delayMs\": 1e300}}}]}",
              "{\"gilbertElliott\": {\"pGoodToBad\": 0.01, \"pBadToGood\": 0.5,"
                  + " \"bad\": {\"sigma\": 1e308}}}",
              "{\"randomWalk\": {\"sigmaStep\": 1, \"sigmaMin\": 0, \"sigmaMax\": 1e308}}");
      for (String json : badScenarios) {
        StatusRuntimeException e =
            assertThrows(
                StatusRuntimeException.class,
                () -> c.loadScenario(LoadScenarioRequest.newBuilder().setJson(json).build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), json);
        assertTrue(e.getStatus().getDescription().contains("must be"), e.getStatus().toString());
      }
      assertEquals(before, c.getParameters(GetParametersRequest.getDefaultInstance()));
      assertEquals(badParams.size(), h.rejected("bad_parameters"));
      assertEquals(badScenarios.size(), h.rejected("bad_scenario"));
      healthySession(h);
      // sane values at the bounds are still accepted
      c.setParameters(before.toBuilder().setSigma(ChannelLimits.MAX_SIGMA).build());
      c.loadScenario(LoadScenarioRequest.newBuilder().setBuiltin("case-A").build());
    }
  }

  @Test
  void int8TensorWithHugeScaleIsInvalidArgumentAndOthersUnharmed() throws Exception {
    try (ProxyHarness h = new ProxyHarness(ChannelParams.builder().sigma(0.1).seed(9).build())) {
      ProxyHarness.Session neighbour = new ProxyHarness.Session(h.ue);
      List<byte[]> frames = ProxyPassThroughTest.frames(6, 4);
      neighbour.call.sendMessage(frames.get(0));
      neighbour.next();

      ProxyHarness.Session bad = new ProxyHarness.Session(h.ue);
      bad.call.sendMessage(frames.get(0));
      bad.next();
      Tensor t =
          Tensor.newBuilder()
              .setDtype(DType.DTYPE_INT8)
              .setByteOrder(ByteOrder.BYTE_ORDER_LITTLE_ENDIAN)
              .addShape(1)
              .addShape(4)
              .setData(ByteString.copyFrom(new byte[] {127, 1, -3, 0}))
              .setScale(3e38f)
              .build();
      int edgeBefore = h.edge.received.size();
      bad.call.sendMessage(
          UeMessage.newBuilder()
              .setHidden(HiddenState.newBuilder().setSessionId("s").setTensor(t))
              .build()
              .toByteArray());
      Status s = bad.awaitClose();
      assertEquals(Status.Code.INVALID_ARGUMENT, s.getCode(), s.toString());
      assertTrue(s.getDescription().contains("int8 scale 3.0E38"), s.getDescription());
      assertEquals(edgeBefore, h.edge.received.size(), "the bad frame was not forwarded");
      assertEquals(1, h.rejected("non_finite"));

      for (byte[] f : frames.subList(1, frames.size())) {
        neighbour.call.sendMessage(f);
        neighbour.next();
      }
      assertEquals(Status.Code.OK, neighbour.finish().getCode());
    }
  }
}
