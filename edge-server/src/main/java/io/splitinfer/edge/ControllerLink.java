package io.splitinfer.edge;

import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.splitinfer.core.channel.ChannelState;
import io.splitinfer.proto.v1.ChannelReport;
import io.splitinfer.proto.v1.ChannelReportSource;
import io.splitinfer.proto.v1.EdgeCapacity;
import io.splitinfer.proto.v1.EdgeLoad;
import io.splitinfer.proto.v1.EdgeLoadAck;
import io.splitinfer.proto.v1.EdgeRegistration;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.Registered;
import io.splitinfer.proto.v1.ReportAck;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.WatchSplitRequest;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The edge's client of the controller: registers the edge and reports channel evidence (increments,
 * see PilotChannelEstimation) (asynchronously; a controller that is down only costs a log line).
 *
 * <p>{@link #start} keeps the edge registered: it registers (retrying with exponential backoff,
 * {@value #FIRST_BACKOFF_MS} ms doubling to {@value #MAX_BACKOFF_MS} ms), then watches the
 * decisions of its UEs (WatchSplit by edge_id) as the controller's liveness signal; when that watch
 * ends for any reason but {@link #close} (UNAVAILABLE: the controller died; a clean end: it shut
 * down), it registers again and re-watches. The edge serves UEs throughout. Construction does no
 * I/O; the loop runs on one daemon thread.
 *
 * <p><b>Pool</b> ({@link #pool}): the edge registers with its capacity and keeps an EdgeHeartbeat
 * stream open beside the watch, a load report (sessions, KV bytes, decode queue) every few hundred
 * ms; the controller places UEs on the least loaded edge and takes an edge whose stream ends out of
 * the pool. Either stream ending counts as losing the controller (both are reopened, once).
 */
public final class ControllerLink implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ControllerLink.class);
  static final long FIRST_BACKOFF_MS = 200;
  static final long MAX_BACKOFF_MS = 5_000;
  private final Channel channel;
  private final SplitControllerGrpc.SplitControllerStub stub;
  private final SplitControllerGrpc.SplitControllerBlockingStub blocking;
  private final ScheduledExecutorService loop =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "controller-link");
            t.setDaemon(true);
            return t;
          });
  private volatile boolean closed;
  private volatile long registrations;
  private volatile Context.CancellableContext watch;
  private long backoffMs = FIRST_BACKOFF_MS; // loop thread only
  private Pool pool; // set before start, then read-only
  private volatile long heartbeats;

  /**
   * Pool membership (issue 16): the capacity this edge registers with and its load, reported over
   * EdgeHeartbeat every {@code every}.
   *
   * @param load the current load (sessions, KV bytes, decode queue); edge_id is filled in
   */
  public record Pool(EdgeCapacity capacity, Supplier<EdgeLoad> load, Duration every) {}

  public ControllerLink(Channel channel) {
    this.channel = channel;
    this.stub = SplitControllerGrpc.newStub(channel);
    this.blocking = SplitControllerGrpc.newBlockingStub(channel);
  }

  /**
   * Keeps {@code edgeId} registered from now on (see the class doc); returns at once.
   *
   * @param target the controller's address, for logs
   */
  public ControllerLink start(String edgeId, String advertised, ModelInfo model, String target) {
    loop.execute(() -> connect(edgeId, advertised, model, target));
    return this;
  }

  /**
   * Joins the pool of edges: registers with {@code pool.capacity} and reports load; call before
   * {@link #start}. Without it the edge registers without a capacity and is never placed on.
   */
  public ControllerLink pool(Pool pool) {
    this.pool = pool;
    return this;
  }

  /** Load reports sent so far. */
  public long heartbeats() {
    return heartbeats;
  }

  /** Successful registrations so far (the first one and every re-registration). */
  public long registrations() {
    return registrations;
  }

  private void connect(String edgeId, String advertised, ModelInfo model, String target) {
    if (closed) {
      return;
    }
    if (channel instanceof ManagedChannel m) {
      m.resetConnectBackoff(); // try now, not after the channel's own (up to 2 min) backoff
    }
    try {
      register(edgeId, advertised, model);
      registrations++;
      backoffMs = FIRST_BACKOFF_MS;
      log.info(
          "{} with controller {} as {}",
          registrations == 1 ? "registered" : "re-registered",
          target,
          edgeId);
    } catch (StatusRuntimeException e) {
      retry(
          "could not register with controller " + target + ": " + oneLine(e.getStatus()),
          () -> connect(edgeId, advertised, model, target));
      return;
    }
    Context.CancellableContext ctx = Context.current().withCancellation();
    watch = ctx;
    AtomicBoolean lost = new AtomicBoolean(); // the watch and the heartbeat end together, once
    Runnable again = () -> connect(edgeId, advertised, model, target);
    java.util.function.Consumer<String> onLost =
        why -> {
          if (!closed && !ctx.isCancelled() && lost.compareAndSet(false, true)) {
            ctx.cancel(null); // ends the other stream and the load reports
            retry(why, again);
          }
        };
    ctx.run(
        () -> {
          stub.watchSplit(
              WatchSplitRequest.newBuilder().setEdgeId(edgeId).build(),
              new StreamObserver<SplitDecision>() {
                @Override
                public void onNext(SplitDecision d) {}

                @Override
                public void onError(Throwable t) {
                  onLost.accept(
                      "lost controller " + target + " (" + oneLine(Status.fromThrowable(t)) + ")");
                }

                @Override
                public void onCompleted() {
                  onLost.accept("controller " + target + " ended the watch");
                }
              });
          if (pool != null) {
            heartbeat(edgeId, ctx, onLost, target);
          }
        });
  }

  /**
   * Opens the EdgeHeartbeat stream (pool membership) and sends a load report every {@code
   * pool.every}, skipping a beat while the stream is not ready (the next report carries the newer
   * load anyway). Its end, for any reason, counts as losing the controller.
   */
  private void heartbeat(
      String edgeId,
      Context.CancellableContext ctx,
      java.util.function.Consumer<String> onLost,
      String target) {
    ClientCallStreamObserver<EdgeLoad> beats =
        (ClientCallStreamObserver<EdgeLoad>)
            stub.edgeHeartbeat(
                new StreamObserver<EdgeLoadAck>() {
                  @Override
                  public void onNext(EdgeLoadAck ack) {}

                  @Override
                  public void onError(Throwable t) {
                    if (Status.fromThrowable(t).getCode() == Status.Code.UNIMPLEMENTED) {
                      // a controller from before the pool: registered, never placed on
                      log.warn("controller {} has no edge pool; load reports off", target);
                      return;
                    }
                    onLost.accept(
                        "controller "
                            + target
                            + " ended the heartbeat ("
                            + oneLine(Status.fromThrowable(t))
                            + ")");
                  }

                  @Override
                  public void onCompleted() {
                    onLost.accept("controller " + target + " ended the heartbeat");
                  }
                });
    long every = Math.max(1, pool.every().toMillis());
    java.util.concurrent.ScheduledFuture<?>[] task = new java.util.concurrent.ScheduledFuture<?>[1];
    Runnable beat =
        () -> {
          if (ctx.isCancelled() || closed) {
            if (task[0] != null) {
              task[0].cancel(false);
            }
            return;
          }
          if (beats.isReady()) {
            try {
              beats.onNext(pool.load().get().toBuilder().setEdgeId(edgeId).build());
              heartbeats++;
            } catch (RuntimeException e) { // the call ended meanwhile; onLost reconnects
              log.debug("load report not sent: {}", e.toString());
            }
          }
        };
    beat.run(); // the first report opens the membership at once
    task[0] = loop.scheduleAtFixedRate(beat, every, every, TimeUnit.MILLISECONDS);
  }

  private static String oneLine(Status s) {
    return s.getDescription() == null
        ? s.getCode().toString()
        : s.getCode() + ": " + s.getDescription();
  }

  private void retry(String why, Runnable again) {
    try {
      loop.execute(
          () -> {
            long delay = backoffMs;
            backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
            log.warn("{}; registering again in {} ms", why, delay);
            loop.schedule(again, delay, TimeUnit.MILLISECONDS);
          });
    } catch (RejectedExecutionException e) {
      // closed meanwhile
    }
  }

  @Override
  public void close() {
    closed = true;
    Context.CancellableContext w = watch;
    if (w != null) {
      w.cancel(null);
    }
    loop.shutdownNow();
  }

  /** Registers this edge (blocking, 10 s deadline), with its capacity when it joins the pool. */
  public Registered register(String edgeId, String advertised, ModelInfo model) {
    EdgeRegistration.Builder reg =
        EdgeRegistration.newBuilder()
            .setEdgeId(edgeId)
            .setAdvertisedAddress(advertised)
            .setModelId(model.getModelId())
            .setNumLayers(model.getNumLayers());
    if (pool != null) {
      reg.setCapacity(pool.capacity());
    }
    return blocking.withDeadlineAfter(10, TimeUnit.SECONDS).registerEdge(reg.build());
  }

  /**
   * Sends one increment of channel evidence for {@code ueId} without waiting. The call runs in a
   * fork of {@link io.grpc.Context#ROOT}: the caller is usually inside a UE session's gRPC call,
   * and a report must not be cancelled when that session ends.
   */
  public void report(String ueId, ChannelState inc, double snrDb) {
    io.grpc.Context.ROOT.fork().run(() -> send(ueId, inc, snrDb));
  }

  private void send(String ueId, ChannelState inc, double snrDb) {
    ChannelState.Evidence ev = inc.evidence();
    stub.withDeadlineAfter(5, java.util.concurrent.TimeUnit.SECONDS)
        .reportChannel(
            ChannelReport.newBuilder()
                .setUeId(ueId)
                .setSource(ChannelReportSource.CHANNEL_REPORT_SOURCE_EDGE_PILOT)
                .setSigma(Double.isNaN(inc.sigma()) ? 0 : inc.sigma())
                .setSigmaH(inc.sigmaH())
                .setLossRate(inc.loss())
                .setSnrDb(Double.isNaN(snrDb) ? 0 : snrDb)
                .setObservedAtUnixMs(System.currentTimeMillis())
                .setSamples(ev.packetsSeen())
                .setPacketsSeen(ev.packetsSeen())
                .setPacketsLost(ev.packetsLost())
                .setWindowMs(ev.windowMs())
                .setPilots(ev.pilots())
                .setSigmaDof(ev.sigmaDof())
                .build(),
            new StreamObserver<ReportAck>() {
              @Override
              public void onNext(ReportAck value) {}

              @Override
              public void onError(Throwable t) {
                if (io.grpc.Status.fromThrowable(t).getCode() == io.grpc.Status.Code.NOT_FOUND) {
                  // a UE that did not register with the controller: nothing to steer
                  log.debug("channel report for unregistered UE {}", ueId);
                } else {
                  log.warn("channel report for {} failed: {}", ueId, t.toString());
                }
              }

              @Override
              public void onCompleted() {}
            });
  }
}
