package io.splitinfer.controller.live;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.splitinfer.proto.v1.GetSplitRequest;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;

/**
 * Polls a controller's {@code GetSplit} for one UE while a run lasts and keeps, per decision epoch,
 * the channel state the decision was made on (σ, σ_h at h_th = 1): the controller's estimate that
 * the per-step log shows beside the true channel. NOT_FOUND (the UE has not registered yet) is
 * ignored.
 */
public final class DecisionPoller implements AutoCloseable {
  /** The channel a decision saw. */
  public record Seen(int split, double sigma, double sigmaH) {}

  private final ConcurrentSkipListMap<Long, Seen> byEpoch = new ConcurrentSkipListMap<>();
  private final Thread thread;
  private volatile boolean running = true;

  public DecisionPoller(ManagedChannel controller, String ueId, long periodMs) {
    SplitControllerGrpc.SplitControllerBlockingStub stub =
        SplitControllerGrpc.newBlockingStub(controller);
    thread =
        new Thread(
            () -> {
              GetSplitRequest req = GetSplitRequest.newBuilder().setUeId(ueId).build();
              while (running) {
                try {
                  SplitDecision d = stub.withDeadlineAfter(2, TimeUnit.SECONDS).getSplit(req);
                  byEpoch.putIfAbsent(
                      d.getEpoch(), new Seen(d.getSplit(), d.getSigma(), d.getSigmaH()));
                } catch (StatusRuntimeException notYet) {
                  // not registered yet, or the controller is busy: try again
                }
                try {
                  Thread.sleep(periodMs);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "decision-poller-" + ueId);
    thread.setDaemon(true);
  }

  /** Starts polling (the constructor does no I/O). */
  public DecisionPoller start() {
    thread.start();
    return this;
  }

  /** The channel of the newest decision with an epoch ≤ {@code epoch} (null if none seen). */
  public Seen at(long epoch) {
    Map.Entry<Long, Seen> e = byEpoch.floorEntry(epoch);
    return e == null ? null : e.getValue();
  }

  @Override
  public void close() throws InterruptedException {
    running = false;
    thread.interrupt();
    thread.join(3000);
  }
}
