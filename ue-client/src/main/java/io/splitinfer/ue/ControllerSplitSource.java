package io.splitinfer.ue;

import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.stub.StreamObserver;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.Registered;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import io.splitinfer.proto.v1.WatchSplitRequest;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Splits from the controller: registers the UE, then follows its WatchSplit stream. The generator
 * polls {@link #current} at step boundaries; decisions with older epochs are ignored, and a
 * decision whose effective_step lies ahead waits for that step.
 */
public final class ControllerSplitSource implements SplitSource, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ControllerSplitSource.class);
  private final AtomicReference<SplitDecision> latest = new AtomicReference<>();
  private final Context.CancellableContext watch;
  private volatile Choice applied;

  private ControllerSplitSource(SplitDecision initial) {
    this.latest.set(initial);
    this.applied = new Choice(initial.getSplit(), initial.getEpoch());
    this.watch = Context.current().withCancellation();
  }

  /** Registers {@code ueId} with the controller and starts watching its decisions. */
  public static ControllerSplitSource start(
      Channel controller, String ueId, String edgeId, ModelInfo model) {
    Registered r =
        SplitControllerGrpc.newBlockingStub(controller)
            .withDeadlineAfter(10, TimeUnit.SECONDS)
            .registerUe(
                UeRegistration.newBuilder()
                    .setUeId(ueId)
                    .setModelId(model.getModelId())
                    .setNumLayers(model.getNumLayers())
                    .setMinSplit(model.getMinSplit())
                    .setMaxSplit(model.getMaxSplit())
                    .setEdgeId(edgeId)
                    .build());
    ControllerSplitSource s = new ControllerSplitSource(r.getDecision());
    s.watch.run(
        () ->
            SplitControllerGrpc.newStub(controller)
                .watchSplit(
                    WatchSplitRequest.newBuilder().setUeId(ueId).build(),
                    new StreamObserver<>() {
                      @Override
                      public void onNext(SplitDecision d) {
                        s.latest.accumulateAndGet(
                            d, (old, nu) -> nu.getEpoch() > old.getEpoch() ? nu : old);
                      }

                      @Override
                      public void onError(Throwable t) {
                        if (io.grpc.Status.fromThrowable(t).getCode()
                            == io.grpc.Status.Code.CANCELLED) {
                          log.debug("WatchSplit closed: {}", t.toString()); // our own close()
                        } else {
                          log.warn("WatchSplit ended: {}; keeping the last split", t.toString());
                        }
                      }

                      @Override
                      public void onCompleted() {}
                    }));
    return s;
  }

  @Override
  public Choice current(long step) {
    SplitDecision d = latest.get();
    if (d.getEpoch() > applied.epoch() && step >= d.getEffectiveStep()) {
      applied = new Choice(d.getSplit(), d.getEpoch());
    }
    return applied;
  }

  @Override
  public void close() {
    watch.cancel(null);
  }
}
