package io.splitinfer.controller.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.proto.v1.GetPolicyRequest;
import io.splitinfer.proto.v1.SplitControllerGrpc;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The plaintext health port (serve --health-port, for Kubernetes' gRPC probes) reports the service
 * name the manifests probe, SERVING while the controller serves, and serves nothing else.
 */
class HealthPortTest {
  @Test
  void reportsTheServiceNameAndNothingElse() throws Exception {
    SplitControllerService service =
        new SplitControllerService(
            Policies.fixed(3),
            new PolicyFactory("", "", 3, 1),
            Hysteresis.none(),
            3,
            Clock.systemUTC(),
            new SimpleMeterRegistry());
    try (ControllerServer server =
        new ControllerServer(
                service,
                NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0)),
                Duration.ZERO,
                null)
            .healthPort(new InetSocketAddress("127.0.0.1", 0))
            .start()) {
      ManagedChannel ch =
          NettyChannelBuilder.forAddress("127.0.0.1", server.healthPortNumber())
              .usePlaintext()
              .build();
      try {
        assertEquals(
            ServingStatus.SERVING,
            HealthGrpc.newBlockingStub(ch)
                .check(
                    HealthCheckRequest.newBuilder()
                        .setService(SplitControllerGrpc.SERVICE_NAME)
                        .build())
                .getStatus());
        StatusRuntimeException e =
            assertThrows(
                StatusRuntimeException.class,
                () ->
                    SplitControllerGrpc.newBlockingStub(ch)
                        .getPolicy(GetPolicyRequest.getDefaultInstance()));
        assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
      } finally {
        ch.shutdownNow();
      }
    }
  }
}
