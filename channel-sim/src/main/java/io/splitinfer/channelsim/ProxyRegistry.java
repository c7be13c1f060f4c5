package io.splitinfer.channelsim;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.HandlerRegistry;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerMethodDefinition;
import io.grpc.Status;
import io.splitinfer.core.security.ForwardedIdentity;
import io.splitinfer.core.security.Identity;
import io.splitinfer.proto.v1.SplitInferenceGrpc;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fallback registry of the proxy server: every method it does not serve itself is forwarded to
 * the edge as opaque bytes (so unknown services and the control plane pass byte-identical, with
 * metadata, status and trailers). Uplink frames of {@code splitinfer.v1.SplitInference/Session} go
 * through {@link ChannelSimulator#uplinkSession}; every frame in both directions goes through a
 * {@link LinkPipe} that applies delay, jitter, bandwidth and backpressure.
 */
final class ProxyRegistry extends HandlerRegistry {
  private static final Logger log = LoggerFactory.getLogger(ProxyRegistry.class);
  static final String SESSION = SplitInferenceGrpc.getSessionMethod().getFullMethodName();

  private final Channel edge;
  private final ChannelSimulator sim;
  private final ScheduledExecutorService timer;
  private final int maxMessageBytes;
  private final AtomicReference<Calls> lastCall = new AtomicReference<>();

  /**
   * @param maxMessageBytes largest uplink message forwarded; a larger one ends its call with
   *     RESOURCE_EXHAUSTED (the transport refuses anything over twice this before buffering it)
   */
  ProxyRegistry(
      Channel edge, ChannelSimulator sim, ScheduledExecutorService timer, int maxMessageBytes) {
    this.edge = edge;
    this.sim = sim;
    this.timer = timer;
    this.maxMessageBytes = maxMessageBytes;
  }

  /** Passes byte arrays through unchanged. */
  static final class ByteMarshaller implements MethodDescriptor.Marshaller<byte[]> {
    static final ByteMarshaller INSTANCE = new ByteMarshaller();

    @Override
    public InputStream stream(byte[] value) {
      return new ByteArrayInputStream(value);
    }

    @Override
    public byte[] parse(InputStream stream) {
      try {
        return stream.readAllBytes();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  @Override
  public ServerMethodDefinition<?, ?> lookupMethod(String methodName, String authority) {
    MethodDescriptor<byte[], byte[]> method =
        MethodDescriptor.newBuilder(ByteMarshaller.INSTANCE, ByteMarshaller.INSTANCE)
            .setFullMethodName(methodName)
            .setType(MethodDescriptor.MethodType.UNKNOWN)
            .build();
    return ServerMethodDefinition.create(method, new Handler(methodName.equals(SESSION)));
  }

  /** The pipes of the most recent call (for tests of backpressure). */
  Calls lastCall() {
    return lastCall.get();
  }

  /** Both directions of one proxied call. */
  record Calls(LinkPipe up, LinkPipe down) {}

  private final class Handler implements ServerCallHandler<byte[], byte[]> {
    private final boolean session;

    Handler(boolean session) {
      this.session = session;
    }

    @Override
    public ServerCall.Listener<byte[]> startCall(
        ServerCall<byte[], byte[]> serverCall, Metadata headers) {
      CallOptions options = CallOptions.DEFAULT;
      Deadline deadline = Context.current().getDeadline();
      if (deadline != null) {
        options = options.withDeadline(deadline);
      }
      // the edge sees channel-sim's certificate; the caller channel-sim authenticated travels
      // in a header the edge believes only from CHANNEL_SIM (and any spoofed one is dropped)
      ForwardedIdentity.forward(headers, Identity.current());
      ClientCall<byte[], byte[]> clientCall =
          edge.newCall(serverCall.getMethodDescriptor(), options);
      Object lock = new Object();
      LinkPipe up =
          new LinkPipe(
              lock,
              timer,
              () -> sim.params().uplink(),
              sim::jitterMs,
              serverCall::request,
              new LinkPipe.Sink() {
                @Override
                public boolean isReady() {
                  return clientCall.isReady();
                }

                @Override
                public void send(byte[] m) {
                  clientCall.sendMessage(m);
                }
              });
      LinkPipe down =
          new LinkPipe(
              lock,
              timer,
              () -> sim.params().downlink(),
              sim::jitterMs,
              clientCall::request,
              new LinkPipe.Sink() {
                @Override
                public boolean isReady() {
                  return serverCall.isReady();
                }

                @Override
                public void send(byte[] m) {
                  serverCall.sendMessage(m);
                }
              });
      lastCall.set(new Calls(up, down));
      clientCall.start(
          new ClientCall.Listener<>() {
            @Override
            public void onHeaders(Metadata h) {
              down.event(() -> serverCall.sendHeaders(h));
            }

            @Override
            public void onMessage(byte[] message) {
              down.offer(message, sim.downlink(message.length));
            }

            @Override
            public void onClose(Status status, Metadata trailers) {
              up.cancel();
              down.end(
                  () -> {
                    try {
                      serverCall.close(status, trailers);
                    } catch (IllegalStateException e) {
                      log.debug("call already closed", e);
                    }
                  });
            }

            @Override
            public void onReady() {
              up.onSinkReady();
            }
          },
          headers);
      up.start();
      down.start();
      return new ServerCall.Listener<>() {
        private boolean refused;

        @Override
        public void onMessage(byte[] message) {
          if (refused) {
            return;
          }
          if (message.length > maxMessageBytes) {
            sim.rejected("message_too_large");
            refused = true;
            refuse(
                Status.RESOURCE_EXHAUSTED.withDescription(
                    "message of "
                        + message.length
                        + " bytes exceeds channel-sim's --max-message-bytes "
                        + maxMessageBytes));
            return;
          }
          if (session) {
            ChannelSimulator.Uplink u;
            try {
              u = sim.uplinkSession(message);
            } catch (FrameRefused e) {
              refused = true;
              refuse(e.status());
              return;
            } catch (RuntimeException e) {
              log.error("uplink frame failed", e);
              sim.rejected("internal");
              refused = true;
              refuse(Status.INTERNAL.withDescription("channel-sim failed on this frame: " + e));
              return;
            }
            up.offer(u.bytes(), u.extraDelayMs());
          } else {
            sim.countUp(message.length);
            up.offer(message, 0);
          }
        }

        /** Ends this call with {@code status} at once; the edge call is cancelled. */
        private void refuse(Status status) {
          up.cancel();
          down.cancel();
          clientCall.cancel("refused by channel-sim: " + status.getDescription(), null);
          synchronized (lock) {
            try {
              serverCall.close(status, new Metadata());
            } catch (IllegalStateException e) {
              log.debug("call already closed", e);
            }
          }
        }

        @Override
        public void onHalfClose() {
          if (!refused) {
            up.end(clientCall::halfClose);
          }
        }

        @Override
        public void onCancel() {
          up.cancel();
          down.cancel();
          clientCall.cancel("client cancelled", null);
        }

        @Override
        public void onReady() {
          down.onSinkReady();
        }
      };
    }
  }
}
