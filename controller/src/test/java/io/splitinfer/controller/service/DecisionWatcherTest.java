package io.splitinfer.controller.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.stub.ServerCallStreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import io.splitinfer.proto.v1.WatchSplitRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class DecisionWatcherTest {
  /** A server stream whose readiness the test controls. */
  static final class SlowStream extends ServerCallStreamObserver<SplitDecision> {
    final List<SplitDecision> sent = new ArrayList<>();
    boolean ready;
    Runnable onReady = () -> {};

    @Override
    public boolean isReady() {
      return ready;
    }

    @Override
    public void setOnReadyHandler(Runnable r) {
      onReady = r;
    }

    void becomeReady() {
      ready = true;
      onReady.run();
    }

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public void setOnCancelHandler(Runnable r) {}

    @Override
    public void setCompression(String c) {}

    @Override
    public void disableAutoInboundFlowControl() {}

    @Override
    public void request(int n) {}

    @Override
    public void setMessageCompression(boolean e) {}

    @Override
    public void onNext(SplitDecision d) {
      if (!ready) {
        throw new AssertionError("sent to a stream that is not ready");
      }
      sent.add(d);
    }

    @Override
    public void onError(Throwable t) {}

    @Override
    public void onCompleted() {}
  }

  static SplitDecision d(String ue, int split) {
    return SplitDecision.newBuilder().setUeId(ue).setSplit(split).setEpoch(split).build();
  }

  @Test
  void aSlowWatcherGetsTheLatestDecisionPerUeAndNothingIsBufferedWithoutBound() {
    SlowStream s = new SlowStream();
    AtomicInteger dropped = new AtomicInteger();
    DecisionWatcher w = new DecisionWatcher(s, dropped::incrementAndGet);
    for (int i = 1; i <= 1000; i++) {
      assertTrue(w.send(d("a", i)));
      assertTrue(w.send(d("b", i)));
    }
    assertEquals(2, w.parked());
    assertEquals(1998, dropped.get());
    assertTrue(s.sent.isEmpty());
    s.becomeReady();
    assertEquals(List.of(d("a", 1000), d("b", 1000)), s.sent);
    assertTrue(w.send(d("a", 1001)));
    assertEquals(d("a", 1001), s.sent.get(2));
  }

  @Test
  void theServicePublishesThroughFlowControl() {
    SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    SplitControllerService service =
        new SplitControllerService(
            SplitControllerServiceTest.SIGMA_POLICY,
            new PolicyFactory("", "", 3, 1),
            Hysteresis.none(),
            4,
            java.time.Clock.systemUTC(),
            metrics);
    LiveLoopStabilityTest.<io.splitinfer.proto.v1.Registered>call(
        o ->
            service.registerUe(
                UeRegistration.newBuilder()
                    .setUeId("u")
                    .setNumLayers(10)
                    .setMinSplit(1)
                    .setMaxSplit(9)
                    .build(),
                o));
    SlowStream s = new SlowStream();
    service.watchSplit(WatchSplitRequest.newBuilder().setUeId("u").build(), s);
    for (int i = 1; i <= 9; i++) {
      double sigma = i / 10.0;
      LiveLoopStabilityTest.<io.splitinfer.proto.v1.ReportAck>call(
          o ->
              service.reportChannel(
                  io.splitinfer.proto.v1.ChannelReport.newBuilder()
                      .setUeId("u")
                      .setSigma(sigma)
                      .build(),
                  o));
    }
    s.becomeReady();
    assertEquals(1, s.sent.size(), "only the latest decision: " + s.sent);
    assertEquals(9, s.sent.get(0).getSplit());
    assertTrue(metrics.counter("controller_decisions_superseded_total").count() >= 8);
  }

  @Test
  void theDecisionCadenceCountsFailuresAndKeepsGoing() {
    SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    AtomicInteger calls = new AtomicInteger();
    SplitPolicy flaky =
        new SplitPolicy() {
          @Override
          public int propose(double sigma, double sigmaH, int current, int min, int max) {
            if (calls.incrementAndGet() % 2 == 0) {
              throw new IllegalStateException("policy failed");
            }
            return current;
          }

          @Override
          public String name() {
            return "flaky";
          }
        };
    SplitControllerService service =
        new SplitControllerService(
            flaky,
            new PolicyFactory("", "", 3, 1),
            new Hysteresis(1, Duration.ZERO, 0.1),
            4,
            java.time.Clock.systemUTC(),
            metrics);
    LiveLoopStabilityTest.<io.splitinfer.proto.v1.Registered>call(
        o ->
            service.registerUe(
                UeRegistration.newBuilder().setUeId("u").setNumLayers(10).build(), o));
    LiveLoopStabilityTest.<io.splitinfer.proto.v1.ReportAck>call(
        o ->
            service.reportChannel(
                io.splitinfer.proto.v1.ChannelReport.newBuilder()
                    .setUeId("u")
                    .setSigma(0.5)
                    .build(),
                o));
    for (int i = 0; i < 4; i++) {
      service.decisionTick();
    }
    assertEquals(5, calls.get());
    assertEquals(2.0, metrics.counter("controller_decision_failures_total").count());
  }
}
