package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Context;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.splitinfer.core.channel.ChannelState;
import io.splitinfer.proto.v1.ChannelReport;
import io.splitinfer.proto.v1.ReportAck;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A channel report sent from inside a UE session's (then cancelled) gRPC Context still arrives. */
class ControllerLinkTest {
  @Test
  void reportFromCancelledSessionContextIsDelivered() throws Exception {
    LinkedBlockingQueue<ChannelReport> got = new LinkedBlockingQueue<>();
    String name = "controller-link-" + System.nanoTime();
    Server server =
        InProcessServerBuilder.forName(name)
            .addService(
                new SplitControllerGrpc.SplitControllerImplBase() {
                  @Override
                  public void reportChannel(ChannelReport req, StreamObserver<ReportAck> out) {
                    got.add(req);
                    out.onNext(ReportAck.getDefaultInstance());
                    out.onCompleted();
                  }
                })
            .build()
            .start();
    ManagedChannel channel = InProcessChannelBuilder.forName(name).build();
    try {
      ControllerLink link = new ControllerLink(channel);
      ChannelState inc = new ChannelState(2.0, 0.25, new ChannelState.Evidence(1, 15, 8, 2, 100));
      Context.CancellableContext session = Context.current().withCancellation();
      // the session ends (its context is cancelled) before the report is sent from it
      session.cancel(null);
      session.run(() -> link.report("ue-1", inc, Double.NaN));
      ChannelReport r = got.poll(5, TimeUnit.SECONDS);
      assertTrue(r != null, "the report must reach the controller");
      assertEquals("ue-1", r.getUeId());
      assertEquals(8, r.getPacketsSeen());
      assertEquals(2, r.getPacketsLost());
    } finally {
      channel.shutdownNow();
      server.shutdownNow();
    }
  }
}
