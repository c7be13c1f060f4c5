package io.splitinfer.ue;

import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.Registered;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import io.splitinfer.proto.v1.WatchSplitRequest;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Splits from the controller: registers the UE, then follows its WatchSplit stream. The generator
 * polls {@link #current} at step boundaries; decisions with older epochs are ignored, and a
 * decision whose effective_step lies ahead waits for that step.
 *
 * <p><b>Controller down.</b> Until the controller has answered, the UE runs on its fallback split
 * (epoch 0, so any controller decision supersedes it). When registration fails, or the watch ends
 * for any reason but our own {@link #close} (UNAVAILABLE: the controller died; NOT_FOUND: it came
 * back without knowing this UE; a clean end: it shut down), the source re-registers and re-watches
 * with exponential backoff ({@value #FIRST_BACKOFF_MS} ms doubling to {@value #MAX_BACKOFF_MS} ms,
 * reset once a watch delivers), keeping the split in force meanwhile. Construction does no I/O;
 * {@link #start} makes one registration attempt on the caller's thread (so a reachable controller
 * decides the first step), the rest runs on one daemon thread.
 */
public final class ControllerSplitSource implements SplitSource, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ControllerSplitSource.class);
  static final long FIRST_BACKOFF_MS = 200;
  static final long MAX_BACKOFF_MS = 5_000;
  private static final long REGISTER_DEADLINE_MS = 5_000;

  private final Channel controller;
  private final UeRegistration registration;
  private final AtomicReference<SplitDecision> latest = new AtomicReference<>();
  private final ScheduledExecutorService retry;
  private volatile Choice applied;
  private volatile Context.CancellableContext watch;
  private volatile boolean closed;
  private volatile long registrations;
  private long backoffMs = FIRST_BACKOFF_MS; // retry thread only

  private ControllerSplitSource(Channel controller, UeRegistration registration, int fallback) {
    this.controller = controller;
    this.registration = registration;
    this.applied = new Choice(fallback, 0);
    this.retry =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "controller-watch-" + registration.getUeId());
              t.setDaemon(true);
              return t;
            });
  }

  /**
   * As {@link #start(Channel, String, String, ModelInfo, int)} with the middle split as fallback.
   */
  public static ControllerSplitSource start(
      Channel controller, String ueId, String edgeId, ModelInfo model) {
    return start(controller, ueId, edgeId, model, -1);
  }

  /**
   * Registers {@code ueId} with the controller and follows its decisions; while the controller is
   * unreachable, runs on {@code fallbackSplit} (−1: the middle of the edge's split range).
   *
   * @throws IllegalArgumentException a fallback split outside the edge's split range
   */
  public static ControllerSplitSource start(
      Channel controller, String ueId, String edgeId, ModelInfo model, int fallbackSplit) {
    return start(controller, ueId, edgeId, model, fallbackSplit, "");
  }

  /**
   * As {@link #start(Channel, String, String, ModelInfo, int)}, registering the weight format of
   * the UE's layers ({@code UeRegistration.weight_format}, "" = f32): the controller weighs the UE
   * cost by it and uses only policies trained for it.
   */
  public static ControllerSplitSource start(
      Channel controller,
      String ueId,
      String edgeId,
      ModelInfo model,
      int fallbackSplit,
      String weightFormat) {
    int min = model.getMinSplit();
    int max = model.getMaxSplit();
    if (min == 0 && max == 0) {
      min = Math.min(1, model.getNumLayers());
      max = Math.max(min, model.getNumLayers() - 1);
    }
    int fallback = fallbackSplit < 0 ? model.getNumLayers() / 2 : fallbackSplit;
    fallback = fallbackSplit < 0 ? Math.max(min, Math.min(max, fallback)) : fallback;
    if (fallback < min || fallback > max) {
      throw new IllegalArgumentException(
          "--fallback-split "
              + fallbackSplit
              + " outside the edge's split range "
              + min
              + ".."
              + max);
    }
    UeRegistration reg =
        UeRegistration.newBuilder()
            .setUeId(ueId)
            .setModelId(model.getModelId())
            .setNumLayers(model.getNumLayers())
            .setMinSplit(model.getMinSplit())
            .setMaxSplit(model.getMaxSplit())
            .setEdgeId(edgeId)
            .setWeightFormat(weightFormat == null ? "" : weightFormat)
            .build();
    ControllerSplitSource s = new ControllerSplitSource(controller, reg, fallback);
    s.connect();
    return s;
  }

  /** One registration attempt, then the watch; a failure schedules the next attempt. */
  private void connect() {
    if (closed) {
      return;
    }
    if (controller instanceof ManagedChannel m) {
      m.resetConnectBackoff(); // try now, not after the channel's own (up to 2 min) backoff
    }
    try {
      Registered r =
          SplitControllerGrpc.newBlockingStub(controller)
              .withDeadlineAfter(REGISTER_DEADLINE_MS, TimeUnit.MILLISECONDS)
              .registerUe(registration);
      registrations++;
      offer(r.getDecision());
      log.info(
          "{} with the controller as {} ({} weights): split {} (epoch {})",
          registrations == 1 ? "registered" : "re-registered",
          registration.getUeId(),
          r.getDecision().getWeightFormat(),
          r.getDecision().getSplit(),
          r.getDecision().getEpoch());
      watch();
    } catch (StatusRuntimeException e) {
      if (registrations == 0 && latest.get() == null && backoffMs == FIRST_BACKOFF_MS) {
        log.warn(
            "controller unreachable ({}): running on the fallback split {}, retrying",
            e.getStatus().getCode(),
            applied.split());
      }
      retryLater("registration failed: " + oneLine(e.getStatus()));
    }
  }

  private void watch() {
    Context.CancellableContext ctx = Context.current().withCancellation();
    watch = ctx;
    ctx.run(
        () ->
            SplitControllerGrpc.newStub(controller)
                .watchSplit(
                    WatchSplitRequest.newBuilder().setUeId(registration.getUeId()).build(),
                    new StreamObserver<>() {
                      @Override
                      public void onNext(SplitDecision d) {
                        offer(d);
                        retry.execute(() -> backoffMs = FIRST_BACKOFF_MS);
                      }

                      @Override
                      public void onError(Throwable t) {
                        if (closed || ctx.isCancelled()) {
                          log.debug("WatchSplit closed: {}", t.toString()); // our own close()
                          return;
                        }
                        retryLater("WatchSplit ended: " + oneLine(Status.fromThrowable(t)));
                      }

                      @Override
                      public void onCompleted() {
                        if (!closed) {
                          retryLater("WatchSplit completed by the controller");
                        }
                      }
                    }));
  }

  private void retryLater(String why) {
    if (closed) {
      return;
    }
    try {
      retry.execute(
          () -> {
            long delay = backoffMs;
            backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
            log.info("{}; keeping split {}, re-registering in {} ms", why, applied.split(), delay);
            retry.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
          });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // closed meanwhile
    }
  }

  static String oneLine(Status s) {
    return s.getDescription() == null
        ? s.getCode().toString()
        : s.getCode() + ": " + s.getDescription();
  }

  private void offer(SplitDecision d) {
    latest.accumulateAndGet(
        d, (old, nu) -> old == null || nu.getEpoch() > old.getEpoch() ? nu : old);
  }

  /** Successful registrations so far (the first one and every re-registration). */
  public long registrations() {
    return registrations;
  }

  @Override
  public Choice current(long step) {
    SplitDecision d = latest.get();
    if (d != null && d.getEpoch() > applied.epoch() && step >= d.getEffectiveStep()) {
      applied = new Choice(d.getSplit(), d.getEpoch(), d.hasSpecK() ? d.getSpecK() : -1);
    }
    return applied;
  }

  @Override
  public void close() {
    closed = true;
    Context.CancellableContext w = watch;
    if (w != null) {
      w.cancel(null);
    }
    retry.shutdownNow();
  }
}
