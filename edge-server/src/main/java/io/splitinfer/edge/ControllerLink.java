package io.splitinfer.edge;

import io.grpc.Channel;
import io.grpc.stub.StreamObserver;
import io.splitinfer.core.channel.ChannelState;
import io.splitinfer.proto.v1.ChannelReport;
import io.splitinfer.proto.v1.ChannelReportSource;
import io.splitinfer.proto.v1.EdgeRegistration;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.Registered;
import io.splitinfer.proto.v1.ReportAck;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The edge's client of the controller: registers the edge and reports channel evidence (increments,
 * see PilotChannelEstimation) (asynchronously; a controller that is down only costs a log line).
 */
public final class ControllerLink {
  private static final Logger log = LoggerFactory.getLogger(ControllerLink.class);
  private final SplitControllerGrpc.SplitControllerStub stub;
  private final SplitControllerGrpc.SplitControllerBlockingStub blocking;

  public ControllerLink(Channel channel) {
    this.stub = SplitControllerGrpc.newStub(channel);
    this.blocking = SplitControllerGrpc.newBlockingStub(channel);
  }

  /** Registers this edge (blocking, 10 s deadline). */
  public Registered register(String edgeId, String advertised, ModelInfo model) {
    return blocking
        .withDeadlineAfter(10, java.util.concurrent.TimeUnit.SECONDS)
        .registerEdge(
            EdgeRegistration.newBuilder()
                .setEdgeId(edgeId)
                .setAdvertisedAddress(advertised)
                .setModelId(model.getModelId())
                .setNumLayers(model.getNumLayers())
                .build());
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
