package io.splitinfer.channelsim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.splitinfer.core.channel.ChannelModel;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.proto.v1.ChannelControlGrpc;
import io.splitinfer.proto.v1.ChannelParameters;
import io.splitinfer.proto.v1.ChannelState;
import io.splitinfer.proto.v1.Fading;
import io.splitinfer.proto.v1.GetParametersRequest;
import io.splitinfer.proto.v1.GetStatisticsRequest;
import io.splitinfer.proto.v1.LinkShape;
import io.splitinfer.proto.v1.LoadScenarioRequest;
import io.splitinfer.proto.v1.LossPolicy;
import io.splitinfer.proto.v1.WatchChannelRequest;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class ControlApiTest {
  @Test
  void setGetWatchStatsAndScenarios() throws Exception {
    try (ProxyHarness h = new ProxyHarness(ChannelParams.IDEAL)) {
      ChannelControlGrpc.ChannelControlBlockingStub c = h.control();
      ChannelParameters initial = c.getParameters(GetParametersRequest.getDefaultInstance());
      assertEquals(Fading.FADING_NONE, initial.getFading());
      assertEquals(1400, initial.getPacketPayloadBytes());
      assertEquals("static", initial.getScenario());

      BlockingQueue<ChannelState> states = new LinkedBlockingQueue<>();
      ChannelControlGrpc.newStub(h.ue)
          .watchChannel(
              WatchChannelRequest.newBuilder().setIntervalMs(60_000).build(),
              new StreamObserver<>() {
                @Override
                public void onNext(ChannelState s) {
                  states.add(s);
                }

                @Override
                public void onError(Throwable t) {}

                @Override
                public void onCompleted() {}
              });
      ChannelState first = states.poll(5, TimeUnit.SECONDS);
      assertEquals(initial, first.getParameters());

      double hTh = ChannelModel.thresholdForLoss(0.5, 0.7); // outside case-H's range
      ChannelParameters set =
          c.setParameters(
              ChannelParameters.newBuilder()
                  .setSigma(0.3)
                  .setFading(Fading.FADING_RAYLEIGH)
                  .setSigmaH(0.7)
                  .setHThreshold(hTh)
                  .setLossPolicy(LossPolicy.LOSS_POLICY_ERASURE)
                  .setUplink(LinkShape.newBuilder().setDelayMs(1))
                  .setSeed(9)
                  .build());
      assertEquals(0.3, set.getSigma());
      assertEquals(3, set.getMaxRetransmissions(), "defaults fill unset fields");
      assertEquals(set, c.getParameters(GetParametersRequest.getDefaultInstance()));
      ChannelState changed = states.poll(5, TimeUnit.SECONDS);
      assertEquals(set, changed.getParameters());
      assertEquals(0.5, changed.getExpectedLoss(), 1e-12);

      StatusRuntimeException bad =
          assertThrows(
              StatusRuntimeException.class,
              () -> c.setParameters(ChannelParameters.newBuilder().setSigma(-1).build()));
      assertEquals(Status.Code.INVALID_ARGUMENT, bad.getStatus().getCode());
      assertEquals(set, c.getParameters(GetParametersRequest.getDefaultInstance()));

      ChannelParameters caseH =
          c.loadScenario(LoadScenarioRequest.newBuilder().setBuiltin("case-H").setSeed(4).build());
      assertEquals("case-H", caseH.getScenario());
      double loss = ChannelModel.lossProbability(caseH.getHThreshold(), caseH.getSigmaH());
      assertTrue(loss >= 0.1 && loss <= 0.3, "" + loss);
      assertEquals(0.3, caseH.getSigma(), "scenario applies over the base parameters");

      ChannelParameters json =
          c.loadScenario(
              LoadScenarioRequest.newBuilder()
                  .setJson("{\"name\": \"mine\", \"base\": {\"snrDb\": 12}}")
                  .build());
      assertEquals("mine", json.getScenario());
      assertTrue(json.getUseSnr());
      assertEquals(
          Status.Code.INVALID_ARGUMENT,
          assertThrows(
                  StatusRuntimeException.class,
                  () ->
                      c.loadScenario(LoadScenarioRequest.newBuilder().setBuiltin("case-Q").build()))
              .getStatus()
              .getCode());

      // statistics count what went through
      ProxyHarness.Session s = new ProxyHarness.Session(h.ue);
      for (byte[] f : ProxyPassThroughTest.frames(10, 2)) {
        s.call.sendMessage(f);
        s.next();
      }
      s.finish();
      var stats = c.getStatistics(GetStatisticsRequest.getDefaultInstance());
      assertEquals(6, stats.getMessages(), "hidden states impaired");
      assertEquals(4, stats.getPassthroughMessages(), "open + junk");
      assertTrue(stats.getPackets() >= 6);
      assertTrue(stats.getBytesUp() > 0 && stats.getBytesDown() > 0);
      assertTrue(stats.getDeliveredSnrDb() < 30);
    }
  }
}
