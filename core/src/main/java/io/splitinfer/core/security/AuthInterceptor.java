package io.splitinfer.core.security;

import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Server side of authentication: derives the caller's {@link Identity} for every call and puts it
 * in the call's {@link Context} (read with {@link Identity#current()}). The identity is the mTLS
 * client certificate's subject (CN = name, each OU a {@link Role}) when the TLS session has a
 * verified one, else the entry of the {@code authorization: Bearer TOKEN} header in the {@link
 * TokenTable}, else {@link Identity#ANONYMOUS}. A presented token that is malformed or unknown ends
 * the call at once with UNAUTHENTICATED (counted in {@code auth_refusals}); an anonymous caller
 * passes on to the service, whose {@link Authz} decides (so health checks stay open). Install it
 * with {@code ServerInterceptors.intercept(service, interceptor)} or the builder's {@code
 * intercept(...)}.
 */
public final class AuthInterceptor implements ServerInterceptor {
  /** The full method name of the current call, for refusal messages. */
  static final Context.Key<String> METHOD = Context.key("splitinfer-method");

  private final TokenTable tokens;
  private final MeterRegistry registry;

  public AuthInterceptor(TokenTable tokens, MeterRegistry registry) {
    this.tokens = tokens == null ? TokenTable.EMPTY : tokens;
    this.registry = registry;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(
      ServerCall<Q, R> call, Metadata headers, ServerCallHandler<Q, R> next) {
    Identity id = fromCertificate(call.getAttributes().get(Grpc.TRANSPORT_ATTR_SSL_SESSION));
    String auth = headers.get(BearerToken.AUTHORIZATION);
    if (auth != null) {
      Identity byToken = null;
      if (auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
        byToken = tokens.lookup(auth.substring(7).strip()).orElse(null);
      }
      if (byToken == null) {
        refused(registry, Status.Code.UNAUTHENTICATED, "bad_token");
        call.close(
            Status.UNAUTHENTICATED.withDescription(
                "the bearer token in `authorization` is malformed or unknown"),
            new Metadata());
        return new ServerCall.Listener<>() {};
      }
      if (id == null) {
        id = byToken;
      }
    }
    String forwarded = headers.get(ForwardedIdentity.HEADER);
    if (forwarded != null && id != null && id.has(Role.CHANNEL_SIM)) {
      Identity f = ForwardedIdentity.decode(forwarded).orElse(null);
      if (f == null) {
        refused(registry, Status.Code.UNAUTHENTICATED, "bad_forwarded_identity");
        call.close(
            Status.UNAUTHENTICATED.withDescription(
                "malformed " + ForwardedIdentity.HEADER.name() + " from " + id.name()),
            new Metadata());
        return new ServerCall.Listener<>() {};
      }
      id = f;
    }
    Context ctx =
        Context.current()
            .withValues(
                Identity.KEY,
                id == null ? Identity.ANONYMOUS : id,
                METHOD,
                call.getMethodDescriptor().getFullMethodName());
    return Contexts.interceptCall(ctx, call, headers, next);
  }

  /**
   * The identity in a verified peer certificate: CN is the name, every OU that names a {@link Role}
   * grants it. Null without a session or a client certificate.
   */
  public static Identity fromCertificate(SSLSession session) {
    if (session == null) {
      return null;
    }
    Certificate[] chain;
    try {
      chain = session.getPeerCertificates();
    } catch (SSLPeerUnverifiedException e) {
      return null; // TLS without a client certificate
    }
    if (chain.length == 0 || !(chain[0] instanceof X509Certificate leaf)) {
      return null;
    }
    return fromSubject(leaf.getSubjectX500Principal().getName());
  }

  /** Parses an RFC 2253 subject ({@code CN=ue-1,OU=ue,O=splitinfer}) into an identity. */
  static Identity fromSubject(String rfc2253) {
    String cn = null;
    Set<Role> roles = EnumSet.noneOf(Role.class);
    try {
      for (Rdn rdn : new LdapName(rfc2253).getRdns()) {
        String type = rdn.getType().toUpperCase(Locale.ROOT);
        String value = String.valueOf(rdn.getValue());
        if (type.equals("CN")) {
          cn = value;
        } else if (type.equals("OU")) {
          Role.parse(value).ifPresent(roles::add);
        }
      }
    } catch (InvalidNameException e) {
      return null;
    }
    if (cn == null || cn.isBlank()) {
      cn = rfc2253;
    }
    return new Identity(cn, roles, Identity.Source.CERTIFICATE);
  }

  static void refused(MeterRegistry registry, Status.Code code, String reason) {
    if (registry != null) {
      Counter.builder("auth_refusals")
          .description("calls refused by authentication or authorisation")
          .tag("code", code.name())
          .tag("reason", reason)
          .register(registry)
          .increment();
    }
  }
}
