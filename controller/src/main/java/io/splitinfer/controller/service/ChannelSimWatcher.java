package io.splitinfer.controller.service;

import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.stub.StreamObserver;
import io.splitinfer.core.channel.ChannelState;
import io.splitinfer.proto.v1.ChannelControlGrpc;
import io.splitinfer.proto.v1.WatchChannelRequest;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows channel-sim's {@code WatchChannel} stream and hands its ground truth (core ChannelState:
 * σ and the loss P the receiver sees) to {@link SplitControllerService#observeTruth}, which acts on
 * it only under {@code --channel-source channel-sim} and otherwise keeps it for logs. Reconnects
 * after a second when the stream ends or fails. With {@code use_snr} the absolute σ is not known
 * here; the last σ is kept.
 */
final class ChannelSimWatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ChannelSimWatcher.class);
  private final ManagedChannel channel;
  private final SplitControllerService service;
  private final ScheduledExecutorService scheduler;
  private volatile boolean closed;
  private double lastSigma;

  /**
   * @param credentials of the link to channel-sim (core's {@code TlsCredentials.client}; the
   *     controller's certificate or token must carry a role channel-sim lets read its state)
   */
  ChannelSimWatcher(
      String target,
      ChannelCredentials credentials,
      SplitControllerService service,
      ScheduledExecutorService s) {
    this.channel = Grpc.newChannelBuilder(target, credentials).build();
    this.service = service;
    this.scheduler = s;
  }

  void start() {
    if (closed) {
      return;
    }
    ChannelControlGrpc.newStub(channel)
        .watchChannel(
            WatchChannelRequest.newBuilder().setIntervalMs(1000).build(),
            new StreamObserver<io.splitinfer.proto.v1.ChannelState>() {
              @Override
              public void onNext(io.splitinfer.proto.v1.ChannelState st) {
                if (!st.getParameters().getUseSnr()) {
                  lastSigma = st.getParameters().getSigma();
                }
                double loss = Math.max(0, Math.min(1, st.getExpectedLoss()));
                service.observeTruth(
                    new ChannelState(lastSigma, loss, ChannelState.Evidence.TRUTH));
              }

              @Override
              public void onError(Throwable t) {
                log.debug("channel-sim watch failed: {}", t.toString());
                retry();
              }

              @Override
              public void onCompleted() {
                retry();
              }
            });
  }

  private void retry() {
    if (!closed) {
      scheduler.schedule(this::start, 1, TimeUnit.SECONDS);
    }
  }

  @Override
  public void close() {
    closed = true;
    channel.shutdownNow();
  }
}
