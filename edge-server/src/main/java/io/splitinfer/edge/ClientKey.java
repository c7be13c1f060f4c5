package io.splitinfer.edge;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.splitinfer.core.security.Identity;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/**
 * Who a call counts against for the per-client limits ({@link ClientLimits}): the authenticated
 * identity's name ({@code id:NAME}, also when channel-sim forwarded it), else the peer's IP address
 * ({@code ip:ADDR}; every connection from one host is one client). The interceptor records the peer
 * address; with core's {@code AuthInterceptor} on the same server, both are in the call's context
 * when the service reads {@link #current()}.
 */
final class ClientKey implements ServerInterceptor {
  private static final Context.Key<String> PEER = Context.key("splitinfer-peer");

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    SocketAddress a = call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
    String peer =
        a instanceof InetSocketAddress i && i.getAddress() != null
            ? i.getAddress().getHostAddress()
            : String.valueOf(a);
    return Contexts.interceptCall(Context.current().withValue(PEER, peer), call, headers, next);
  }

  /** The client of the call running on this thread. */
  static String current() {
    Identity id = Identity.current();
    if (!id.anonymous()) {
      return "id:" + id.name();
    }
    String peer = PEER.get();
    return "ip:" + (peer == null ? "unknown" : peer);
  }
}
