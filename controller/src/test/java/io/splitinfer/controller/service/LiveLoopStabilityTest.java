package io.splitinfer.controller.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.controller.env.EnvConfig;
import io.splitinfer.core.channel.ChannelEstimator;
import io.splitinfer.core.channel.ChannelModel;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.core.channel.ChannelParams.Fading;
import io.splitinfer.core.channel.ChannelParams.Receiver;
import io.splitinfer.core.channel.ChannelState;
import io.splitinfer.core.channel.Impairment;
import io.splitinfer.core.channel.PilotSequence;
import io.splitinfer.proto.v1.ChannelReport;
import io.splitinfer.proto.v1.ChannelReportSource;
import io.splitinfer.proto.v1.Registered;
import io.splitinfer.proto.v1.ReportAck;
import io.splitinfer.proto.v1.UeRegistration;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The live loop on a compressed clock: the shipped PPO policy in the service, fed by a simulated
 * edge (core {@link ChannelEstimator} on hidden states of d = 256 and 1024-symbol pilots every 8
 * steps through core {@link ChannelModel}, reporting increments every 32 packets or 500 ms), with
 * the demo's settings (decisions every 300 ms, 2 confirmations, 300 ms dwell) and one decode step
 * per 50 ms of simulated time.
 */
class LiveLoopStabilityTest {
  static final int D = 256;
  static final long STEP_MS = 50;
  static final long CADENCE_MS = 300;

  /** A split change: when, from, to. */
  record Change(long atMs, int from, int to) {}

  static final class Loop {
    final SplitControllerServiceTest.ManualClock clock =
        new SplitControllerServiceTest.ManualClock();
    final SplitControllerService service;
    final ChannelModel channel;
    final ChannelEstimator edge;
    final SplittableRandom traffic;
    final List<Change> changes = new ArrayList<>();
    final long t0;
    int split;
    long step;
    long nextDecision;

    Loop(ChannelParams p, long seed) {
      service =
          new SplitControllerService(
              new PolicyFactory("", "", -1, 1).create("ppo", ""),
              new PolicyFactory("", "", -1, 1),
              new Hysteresis(2, Duration.ofMillis(300), 0.10, 0.01),
              -1,
              clock,
              new SimpleMeterRegistry(),
              ChannelSource.ESTIMATE,
              ChannelFusion.Config.defaults());
      EnvConfig env = PolicyFactory.loadCheckpoint("").env();
      Registered r =
          call(
              o ->
                  service.registerUe(
                      UeRegistration.newBuilder()
                          .setUeId("ue")
                          .setEdgeId("edge")
                          .setNumLayers(env.pMax() + 1)
                          .setMinSplit(env.pMin())
                          .setMaxSplit(env.pMax())
                          .build(),
                      o));
      split = r.getDecision().getSplit();
      channel = new ChannelModel(p.toBuilder().seed(seed).build());
      edge = new ChannelEstimator(ChannelEstimator.DEFAULT_WINDOW_PACKETS, clock::millis);
      traffic = new SplittableRandom(seed);
      t0 = clock.millis();
      nextDecision = t0 + CADENCE_MS;
    }

    void setChannel(ChannelParams p) {
      channel.setParams(p.toBuilder().seed(channel.params().seed()).build());
    }

    /** Runs decode steps for {@code ms} of simulated time. */
    void run(long ms) {
      long end = clock.millis() + ms;
      while (clock.millis() < end) {
        int per = ChannelModel.packetElements(channel.params().packetPayloadBytes(), 4);
        if (step % 8 == 0) {
          long seed = step;
          float[] x = PilotSequence.values(seed, 1024);
          Impairment imp = channel.impair(x, 0, x.length, 4, Receiver.RAW);
          edge.observePilot(seed, x, per, imp.erasureMask());
        }
        float[] h = new float[D];
        for (int i = 0; i < D; i++) {
          h[i] = (float) traffic.nextGaussian();
        }
        Impairment imp = channel.impair(h, 4);
        edge.observeHidden(h, per, imp.erasureMask());
        if (edge.pendingPackets() >= 32 || edge.pendingMs() >= 500) {
          report(edge.drain());
        }
        step++;
        clock.ms += STEP_MS;
        while (clock.millis() >= nextDecision) {
          service.decisionTick();
          nextDecision += CADENCE_MS;
        }
        observeSplit();
      }
    }

    void report(ChannelState inc) {
      ChannelState.Evidence ev = inc.evidence();
      call(
          (StreamObserver<ReportAck> o) ->
              service.reportChannel(
                  ChannelReport.newBuilder()
                      .setUeId("ue")
                      .setSource(ChannelReportSource.CHANNEL_REPORT_SOURCE_EDGE_PILOT)
                      .setSigma(Double.isNaN(inc.sigma()) ? 0 : inc.sigma())
                      .setPacketsSeen(ev.packetsSeen())
                      .setPacketsLost(ev.packetsLost())
                      .setPilots(ev.pilots())
                      .setSigmaDof(ev.sigmaDof())
                      .setWindowMs(ev.windowMs())
                      .build(),
                  o));
      observeSplit();
    }

    void observeSplit() {
      int now =
          call((StreamObserver<io.splitinfer.proto.v1.SplitDecision> o) ->
                  service.getSplit(
                      io.splitinfer.proto.v1.GetSplitRequest.newBuilder().setUeId("ue").build(), o))
              .getSplit();
      if (now != split) {
        changes.add(new Change(clock.millis() - t0, split, now));
        split = now;
      }
    }

    long now() {
      return clock.millis() - t0;
    }
  }

  static <T> T call(java.util.function.Consumer<StreamObserver<T>> rpc) {
    List<T> got = new ArrayList<>();
    List<Throwable> err = new ArrayList<>();
    rpc.accept(
        new StreamObserver<>() {
          @Override
          public void onNext(T v) {
            got.add(v);
          }

          @Override
          public void onError(Throwable t) {
            err.add(t);
          }

          @Override
          public void onCompleted() {}
        });
    if (!err.isEmpty()) {
      throw new AssertionError(err.get(0));
    }
    return got.get(0);
  }

  static ChannelParams channel(double sigma, double loss) {
    ChannelParams.Builder b = ChannelParams.builder().sigma(sigma);
    if (loss > 0) {
      b.fading(Fading.RAYLEIGH).sigmaH(0.7943).lossProbability(loss);
    }
    return b.build();
  }

  @Test
  void onAStaticChannelTheSplitSettlesThenChangesAtMostOncePerMinute() {
    double[][] channels = {{0, 0}, {2, 0.05}, {6, 0.05}, {12, 0.2}};
    for (double[] c : channels) {
      Loop loop = new Loop(channel(c[0], c[1]), 11 + (long) (c[0] * 10));
      loop.run(Duration.ofMinutes(10).toMillis());
      List<Change> late = loop.changes.stream().filter(ch -> ch.atMs() >= 60_000).toList();
      System.out.printf(
          "static sigma %.0f P %.2f: changes %s (after the first minute: %d)%n",
          c[0], c[1], loop.changes, late.size());
      for (int i = 1; i < late.size(); i++) {
        assertTrue(
            late.get(i).atMs() - late.get(i - 1).atMs() >= 60_000,
            "two changes within a minute on a static channel: " + late);
      }
      assertTrue(late.size() <= 9, "at most one change per minute: " + late);
    }
  }

  @Test
  void onTheDemosBadChannelTheSplitMovesLaterAndStaysLater() {
    for (long seed : new long[] {7, 8, 9}) {
      Loop loop = new Loop(channel(0, 0), seed);
      loop.run(Duration.ofMinutes(2).toMillis());
      int clean = loop.split;
      long badFrom = loop.now();
      loop.setChannel(channel(6, 0.05)); // --sigma 6 --fading rayleigh --loss 0.05
      loop.run(Duration.ofMinutes(5).toMillis());
      List<Change> bad = loop.changes.stream().filter(ch -> ch.atMs() >= badFrom).toList();
      System.out.printf("seed %d: clean split %d; on the bad channel: %s%n", seed, clean, bad);
      assertTrue(loop.split > clean, "the split moved later: " + clean + " -> " + loop.split);
      for (Change ch : bad) {
        assertTrue(ch.to() > ch.from(), "moved back down while the channel stayed bad: " + bad);
      }
      assertEquals(loop.split, bad.get(bad.size() - 1).to());
    }
  }
}
