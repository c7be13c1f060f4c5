package io.splitinfer.controller.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.controller.service.ControllerServer;
import io.splitinfer.controller.service.Hysteresis;
import io.splitinfer.controller.service.PolicyFactory;
import io.splitinfer.controller.service.SplitControllerService;
import io.splitinfer.proto.v1.EdgeRegistration;
import io.splitinfer.proto.v1.GetSplitRequest;
import io.splitinfer.proto.v1.OverrideRequest;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A database that goes away under a running controller costs log lines and a counter, not RPCs. */
class StoreFailureTest {
  @TempDir Path dir;

  @Test
  void writesToALostDatabaseAreCountedAndTheControllerKeepsServing() throws Exception {
    ControllerStore store = ControllerStore.open(dir.resolve("db").toString());
    SimpleMeterRegistry metrics = new SimpleMeterRegistry();
    SplitControllerService service =
        new SplitControllerService(
            ControllerStoreContract.SIGMA_POLICY,
            new PolicyFactory("", "", 3, 1),
            new Hysteresis(1, Duration.ZERO, 0.0),
            -1,
            Clock.systemUTC(),
            metrics);
    service.restore(
        store.load(),
        ControllerJournal.failSoft(
            store, () -> metrics.counter("controller_store_failures_total").increment()));
    store.close(); // the database is gone from now on
    String name = InProcessServerBuilder.generateName();
    try (ControllerServer server =
        new ControllerServer(
                service, InProcessServerBuilder.forName(name).directExecutor(), Duration.ZERO, null)
            .start()) {
      ManagedChannel ch = InProcessChannelBuilder.forName(name).directExecutor().build();
      try {
        var stub = SplitControllerGrpc.newBlockingStub(ch);
        stub.registerEdge(EdgeRegistration.newBuilder().setEdgeId("edge-a").build()); // 1 write
        stub.registerUe(ControllerStoreContract.ue("ue-1", 1, 11)); // decision + UE: 2 writes
        stub.override(
            OverrideRequest.newBuilder().setUeId("ue-1").setPin(true).setSplit(2).build());
        assertEquals(
            2, stub.getSplit(GetSplitRequest.newBuilder().setUeId("ue-1").build()).getSplit());
        assertEquals(4.0, metrics.counter("controller_store_failures_total").count());
      } finally {
        ch.shutdownNow();
      }
    }
  }
}
