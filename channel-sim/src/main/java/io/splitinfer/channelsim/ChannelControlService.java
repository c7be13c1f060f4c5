package io.splitinfer.channelsim;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.core.channel.Scenario;
import io.splitinfer.proto.v1.ChannelControlGrpc;
import io.splitinfer.proto.v1.ChannelParameters;
import io.splitinfer.proto.v1.ChannelState;
import io.splitinfer.proto.v1.ChannelStatistics;
import io.splitinfer.proto.v1.GetParametersRequest;
import io.splitinfer.proto.v1.GetStatisticsRequest;
import io.splitinfer.proto.v1.LoadScenarioRequest;
import io.splitinfer.proto.v1.WatchChannelRequest;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/** channel-sim's control API (served locally, never forwarded). */
final class ChannelControlService extends ChannelControlGrpc.ChannelControlImplBase {
  static final int DEFAULT_WATCH_INTERVAL_MS = 1000;
  static final int MIN_WATCH_INTERVAL_MS = 10;

  private final ChannelSimulator sim;
  private final ScheduledExecutorService timer;

  ChannelControlService(ChannelSimulator sim, ScheduledExecutorService timer) {
    this.sim = sim;
    this.timer = timer;
  }

  @Override
  public void getParameters(GetParametersRequest req, StreamObserver<ChannelParameters> out) {
    out.onNext(ProtoChannelParams.toProto(sim.params()));
    out.onCompleted();
  }

  @Override
  public void setParameters(ChannelParameters req, StreamObserver<ChannelParameters> out) {
    ChannelParams p;
    try {
      p = ProtoChannelParams.fromProto(req, sim.params());
    } catch (IllegalArgumentException e) {
      out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
      return;
    }
    sim.setParams(p);
    out.onNext(ProtoChannelParams.toProto(sim.params()));
    out.onCompleted();
  }

  @Override
  public void loadScenario(LoadScenarioRequest req, StreamObserver<ChannelParameters> out) {
    Scenario s;
    try {
      if (!req.getJson().isBlank()) {
        s = Scenario.fromJson(req.getJson());
      } else if (!req.getBuiltin().isBlank()) {
        s = Scenario.builtin(req.getBuiltin());
      } else {
        throw new IllegalArgumentException("give a built-in name or scenario JSON");
      }
    } catch (IllegalArgumentException e) {
      out.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
      return;
    }
    out.onNext(ProtoChannelParams.toProto(sim.loadScenario(s, req.getSeed())));
    out.onCompleted();
  }

  @Override
  public void getStatistics(GetStatisticsRequest req, StreamObserver<ChannelStatistics> out) {
    out.onNext(sim.statistics());
    out.onCompleted();
  }

  @Override
  public void watchChannel(WatchChannelRequest req, StreamObserver<ChannelState> plain) {
    if (req.getIntervalMs() < 0) {
      plain.onError(
          Status.INVALID_ARGUMENT.withDescription("interval_ms must be >= 0").asRuntimeException());
      return;
    }
    int interval =
        req.getIntervalMs() == 0
            ? DEFAULT_WATCH_INTERVAL_MS
            : Math.max(MIN_WATCH_INTERVAL_MS, req.getIntervalMs());
    ServerCallStreamObserver<ChannelState> out = (ServerCallStreamObserver<ChannelState>) plain;
    Watcher w = new Watcher(out);
    Consumer<ChannelParams> listener = p -> w.push();
    ScheduledFuture<?> tick =
        timer.scheduleAtFixedRate(w::push, interval, interval, TimeUnit.MILLISECONDS);
    out.setOnCancelHandler(
        () -> {
          sim.removeListener(listener);
          tick.cancel(false);
        });
    out.setOnReadyHandler(w::onReady);
    sim.addListener(listener);
    w.push();
  }

  /** Sends the latest state; when the stream is not ready, remembers to send once it is. */
  private final class Watcher {
    private final ServerCallStreamObserver<ChannelState> out;
    private boolean pending;
    private boolean done;

    Watcher(ServerCallStreamObserver<ChannelState> out) {
      this.out = out;
    }

    synchronized void push() {
      if (done || out.isCancelled()) {
        done = true;
        return;
      }
      if (!out.isReady()) {
        pending = true;
        return;
      }
      pending = false;
      ChannelParams p = sim.params();
      io.splitinfer.core.channel.ChannelState truth =
          io.splitinfer.core.channel.ChannelState.groundTruth(p);
      try {
        out.onNext(
            ChannelState.newBuilder()
                .setParameters(ProtoChannelParams.toProto(p))
                .setExpectedLoss(truth.loss())
                .setStateSigma(truth.sigma())
                .setStateSigmaH(truth.sigmaH())
                .setAtUnixMs(System.currentTimeMillis())
                .setStatistics(sim.statistics())
                .build());
      } catch (RuntimeException e) {
        done = true; // cancelled concurrently
      }
    }

    synchronized void onReady() {
      if (pending) {
        push();
      }
    }
  }
}
