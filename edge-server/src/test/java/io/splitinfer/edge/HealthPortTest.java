package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.proto.v1.GetModelInfoRequest;
import io.splitinfer.proto.v1.SplitInferenceGrpc;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The plaintext health port (--health-port, for Kubernetes' gRPC probes) reports the service name
 * the manifests probe, SERVING while the edge serves, and serves nothing else.
 */
class HealthPortTest {
  @TempDir Path dir;

  @Test
  void reportsTheServiceNameAndNothingElse() throws Exception {
    EdgeMetrics metrics = new EdgeMetrics(new SimpleMeterRegistry());
    try (var engine = TestRig.tinyEngine(dir, 2, 1)) {
      var service =
          new SplitInferenceService(
              new EdgeModel("m", "sha", engine, id -> "t"), EdgeConfig.defaults(), metrics);
      EdgeServer server =
          new EdgeServer(service, metrics)
              .healthPort(new InetSocketAddress("127.0.0.1", 0))
              .start(new InetSocketAddress("127.0.0.1", 0));
      ManagedChannel ch =
          NettyChannelBuilder.forAddress("127.0.0.1", server.healthPortNumber())
              .usePlaintext()
              .build();
      try {
        var health = HealthGrpc.newBlockingStub(ch);
        assertEquals(
            ServingStatus.SERVING,
            health
                .check(
                    HealthCheckRequest.newBuilder()
                        .setService(SplitInferenceGrpc.SERVICE_NAME)
                        .build())
                .getStatus());
        StatusRuntimeException e =
            assertThrows(
                StatusRuntimeException.class,
                () ->
                    SplitInferenceGrpc.newBlockingStub(ch)
                        .getModelInfo(GetModelInfoRequest.getDefaultInstance()));
        assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
      } finally {
        ch.shutdownNow();
        server.stop();
      }
    }
  }
}
