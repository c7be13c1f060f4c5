package io.splitinfer.ue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.StreamObserver;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.Registered;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import io.splitinfer.proto.v1.WatchSplitRequest;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The UE tells the controller its weight format when it registers. */
class ControllerRegistrationFormatTest {
  static final class RecordingController extends SplitControllerGrpc.SplitControllerImplBase {
    final BlockingQueue<UeRegistration> registrations = new LinkedBlockingQueue<>();

    @Override
    public void registerUe(UeRegistration req, StreamObserver<Registered> out) {
      registrations.add(req);
      SplitDecision.Builder d =
          SplitDecision.newBuilder()
              .setUeId(req.getUeId())
              .setSplit(3)
              .setEpoch(1)
              .setWeightFormat(req.getWeightFormat());
      if (req.getUeId().endsWith("-spec")) {
        d.setSpecK(2);
      }
      out.onNext(Registered.newBuilder().setId(req.getUeId()).setDecision(d).build());
      out.onCompleted();
    }

    @Override
    public void watchSplit(WatchSplitRequest req, StreamObserver<SplitDecision> out) {
      // stays open, sends nothing
    }
  }

  @Test
  void theRegistrationCarriesTheWeightFormat() throws Exception {
    String name = InProcessServerBuilder.generateName();
    RecordingController ctl = new RecordingController();
    Server server = InProcessServerBuilder.forName(name).addService(ctl).build().start();
    ManagedChannel ch = InProcessChannelBuilder.forName(name).build();
    ModelInfo info =
        ModelInfo.newBuilder()
            .setModelId("m")
            .setNumLayers(12)
            .setMinSplit(1)
            .setMaxSplit(11)
            .build();
    try (ControllerSplitSource s =
        ControllerSplitSource.start(ch, "ue-1", "edge-1", info, -1, "int4-g32-sym-a4")) {
      UeRegistration r = ctl.registrations.poll(5, TimeUnit.SECONDS);
      assertEquals("int4-g32-sym-a4", r.getWeightFormat());
      assertEquals(3, s.current(0).split());
      assertEquals(-1, s.current(0).specK(), "no spec_k: no limit");
    }
    try (ControllerSplitSource s = ControllerSplitSource.start(ch, "ue-spec", "edge-1", info)) {
      ctl.registrations.poll(5, TimeUnit.SECONDS);
      assertEquals(2, s.current(0).specK(), "the decision's spec_k reaches the generator");
    }
    // the older overload registers no format (the controller reads it as f32)
    try (ControllerSplitSource s = ControllerSplitSource.start(ch, "ue-2", "edge-1", info)) {
      assertEquals("", ctl.registrations.poll(5, TimeUnit.SECONDS).getWeightFormat());
    } finally {
      ch.shutdownNow();
      server.shutdownNow();
    }
  }
}
