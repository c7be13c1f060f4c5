package io.splitinfer.channelsim;

import io.grpc.InsecureServerCredentials;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerCredentials;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A tiny edge at the byte level: {@code splitinfer.v1.SplitInference/Session} echoes every frame it
 * receives (and records it with its arrival time); {@code test.Unknown/Echo} answers a unary call
 * with the request bytes, echoes header {@code x-req} as response header {@code x-resp}, adds
 * trailer {@code x-trail} and closes with the status named in the request's {@code x-status}.
 */
final class FakeEdge implements AutoCloseable {
  static final Metadata.Key<String> X_REQ =
      Metadata.Key.of("x-req", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> X_RESP =
      Metadata.Key.of("x-resp", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> X_TRAIL =
      Metadata.Key.of("x-trail", Metadata.ASCII_STRING_MARSHALLER);
  static final Metadata.Key<String> X_STATUS =
      Metadata.Key.of("x-status", Metadata.ASCII_STRING_MARSHALLER);

  static final MethodDescriptor<byte[], byte[]> SESSION =
      method(ProxyRegistry.SESSION, MethodDescriptor.MethodType.BIDI_STREAMING);
  static final MethodDescriptor<byte[], byte[]> UNKNOWN =
      method("test.Unknown/Echo", MethodDescriptor.MethodType.UNARY);

  final List<byte[]> received = new CopyOnWriteArrayList<>();
  final List<Long> arrivalNanos = new CopyOnWriteArrayList<>();
  final AtomicBoolean paused = new AtomicBoolean();
  final AtomicReference<ServerCall<byte[], byte[]>> lastSession = new AtomicReference<>();
  final AtomicReference<Metadata> lastSessionHeaders = new AtomicReference<>();
  private Server server;

  static MethodDescriptor<byte[], byte[]> method(String name, MethodDescriptor.MethodType type) {
    return MethodDescriptor.newBuilder(
            ProxyRegistry.ByteMarshaller.INSTANCE, ProxyRegistry.ByteMarshaller.INSTANCE)
        .setFullMethodName(name)
        .setType(type)
        .build();
  }

  FakeEdge start() throws IOException {
    return start(InsecureServerCredentials.create());
  }

  /** Starts with these credentials (TLS tests). */
  FakeEdge start(ServerCredentials creds) throws IOException {
    ServerCallHandler<byte[], byte[]> session =
        (call, headers) -> {
          lastSession.set(call);
          lastSessionHeaders.set(headers);
          if (!paused.get()) {
            call.request(1);
          }
          return new ServerCall.Listener<>() {
            boolean headersSent;

            @Override
            public void onMessage(byte[] m) {
              received.add(m);
              arrivalNanos.add(System.nanoTime());
              if (!headersSent) {
                headersSent = true;
                call.sendHeaders(new Metadata());
              }
              call.sendMessage(m);
              if (!paused.get()) {
                call.request(1);
              }
            }

            @Override
            public void onHalfClose() {
              call.close(Status.OK, new Metadata());
            }
          };
        };
    ServerCallHandler<byte[], byte[]> unknown =
        (call, headers) -> {
          call.request(1);
          return new ServerCall.Listener<>() {
            @Override
            public void onMessage(byte[] m) {
              Metadata h = new Metadata();
              h.put(X_RESP, String.valueOf(headers.get(X_REQ)));
              call.sendHeaders(h);
              call.sendMessage(m);
            }

            @Override
            public void onHalfClose() {
              Metadata t = new Metadata();
              t.put(X_TRAIL, "trailer-value");
              String st = headers.get(X_STATUS);
              Status s =
                  st == null
                      ? Status.OK
                      : Status.fromCode(Status.Code.valueOf(st)).withDescription("as asked: " + st);
              call.close(s, t);
            }
          };
        };
    server =
        NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0), creds)
            .maxInboundMessageSize(64 << 20)
            .addService(
                ServerServiceDefinition.builder("splitinfer.v1.SplitInference")
                    .addMethod(SESSION, session)
                    .build())
            .addService(
                ServerServiceDefinition.builder("test.Unknown").addMethod(UNKNOWN, unknown).build())
            .build()
            .start();
    return this;
  }

  /** Lets a paused session read {@code n} more frames. */
  void request(int n) {
    lastSession.get().request(n);
  }

  int port() {
    return server.getPort();
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination();
  }
}
