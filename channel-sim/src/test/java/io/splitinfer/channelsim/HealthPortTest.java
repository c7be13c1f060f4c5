package io.splitinfer.channelsim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.grpc.ManagedChannel;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.proto.v1.ChannelControlGrpc;
import org.junit.jupiter.api.Test;

/**
 * The plaintext health port (serve --health-port, for Kubernetes' gRPC probes) reports the service
 * name the manifests probe, SERVING while channel-sim serves.
 */
class HealthPortTest {
  @Test
  void reportsTheServiceName() throws Exception {
    ChannelSimServer sim =
        new ChannelSimServer(
                new ChannelSimServer.Config(
                    "127.0.0.1", 0, "localhost:1", ChannelParams.IDEAL, null, 0, 64 << 20),
                new SimpleMeterRegistry())
            .healthPort(0)
            .start();
    ManagedChannel ch =
        NettyChannelBuilder.forAddress("127.0.0.1", sim.healthPortNumber()).usePlaintext().build();
    try {
      assertEquals(
          ServingStatus.SERVING,
          HealthGrpc.newBlockingStub(ch)
              .check(
                  HealthCheckRequest.newBuilder()
                      .setService(ChannelControlGrpc.SERVICE_NAME)
                      .build())
              .getStatus());
    } finally {
      ch.shutdownNow();
      sim.close();
    }
  }
}
