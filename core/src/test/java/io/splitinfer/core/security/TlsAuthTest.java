package io.splitinfer.core.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.CallCredentials;
import io.grpc.CallOptions;
import io.grpc.Grpc;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.ServerCalls;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS, mTLS and bearer tokens end to end over loopback sockets: a real Netty server with {@link
 * TlsCredentials}, {@link AuthInterceptor} and a service that calls {@link Authz}.
 */
class TlsAuthTest {
  @TempDir static Path tmp;
  static TestPki pki;
  static TestPki otherPki;

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final AtomicInteger handled = new AtomicInteger();
  private Server server;
  private ManagedChannel channel;

  /** Request: "ROLE" (require that role), "ue:ID" (requireUe), "" (no check). */
  private static final MethodDescriptor<String, String> WHO =
      MethodDescriptor.newBuilder(Utf8.INSTANCE, Utf8.INSTANCE)
          .setFullMethodName("test.Who/Call")
          .setType(MethodDescriptor.MethodType.UNARY)
          .build();

  @BeforeAll
  static void certs() throws Exception {
    pki = TestPki.generate(tmp.resolve("pki"));
    otherPki = TestPki.generate(tmp.resolve("other"));
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private void serve(TlsOptions options, TokenTable tokens, boolean enforce) throws IOException {
    Authz authz = new Authz(enforce, registry);
    ServerServiceDefinition svc =
        ServerServiceDefinition.builder("test.Who")
            .addMethod(
                WHO,
                ServerCalls.asyncUnaryCall(
                    (req, out) -> {
                      handled.incrementAndGet();
                      try {
                        Identity id =
                            req.startsWith("ue:")
                                ? authz.requireUe(req.substring(3))
                                : req.isEmpty()
                                    ? Identity.current()
                                    : authz.require(Role.parse(req).orElseThrow());
                        out.onNext(id.toString());
                        out.onCompleted();
                      } catch (StatusRuntimeException e) {
                        out.onError(e);
                      }
                    }))
            .build();
    server =
        NettyServerBuilder.forAddress(
                new InetSocketAddress("127.0.0.1", 0), TlsCredentials.server(options, "127.0.0.1"))
            .addService(ServerInterceptors.intercept(svc, new AuthInterceptor(tokens, registry)))
            .build()
            .start();
  }

  private String call(TlsOptions client, CallCredentials token, String req) {
    if (channel != null) {
      channel.shutdownNow();
    }
    channel =
        Grpc.newChannelBuilder(
                "localhost:" + server.getPort(), TlsCredentials.client(client, "localhost", token))
            .build();
    return ClientCalls.blockingUnaryCall(
        channel, WHO, CallOptions.DEFAULT.withDeadlineAfter(10, TimeUnit.SECONDS), req);
  }

  private Status.Code refusedWith(TlsOptions client, CallCredentials token, String req) {
    return assertThrows(StatusRuntimeException.class, () -> call(client, token, req))
        .getStatus()
        .getCode();
  }

  private double refusals(String code) {
    return registry.find("auth_refusals").tag("code", code).counters().stream()
        .mapToDouble(c -> c.count())
        .sum();
  }

  @Test
  void plaintextClientIsRefusedByTlsServer() throws Exception {
    serve(pki.server("edge", false), TokenTable.EMPTY, false);
    assertEquals(Status.Code.UNAVAILABLE, refusedWith(TlsOptions.plaintext(), null, ""));
    assertEquals(0, handled.get(), "the service never saw the plaintext call");
    // a TLS client on the same server is served (anonymous: no certificate, no token)
    assertTrue(call(pki.client(null), null, "").startsWith("anonymous"));
  }

  @Test
  void mtlsRefusesClientsWithoutOrWithForeignCertificates() throws Exception {
    serve(pki.server("edge", true), TokenTable.EMPTY, true);
    // certificate from another CA (the client trusts the right CA, so only its cert is wrong)
    TlsOptions foreign =
        TlsOptions.tls(otherPki.cert("operator"), otherPki.key("operator"), pki.ca(), false);
    assertEquals(Status.Code.UNAVAILABLE, refusedWith(foreign, null, "operator"));
    assertEquals(Status.Code.UNAVAILABLE, refusedWith(pki.client(null), null, "operator"));
    // a client that does not trust the server's CA refuses the server
    assertEquals(Status.Code.UNAVAILABLE, refusedWith(otherPki.client("operator"), null, ""));
    assertEquals(0, handled.get());
  }

  @Test
  void mtlsIdentityAndRolesReachTheService() throws Exception {
    serve(pki.server("edge", true), TokenTable.EMPTY, true);
    assertEquals(
        "operator (operator, by certificate)", call(pki.client("operator"), null, "operator"));
    assertEquals("ue-1 (ue, by certificate)", call(pki.client("ue"), null, "ue:ue-1"));
    assertEquals(
        "channel-sim (channel-sim, by certificate)",
        call(pki.client("channel-sim"), null, "channel-sim"));
    // an operator may act on any UE
    assertTrue(call(pki.client("operator"), null, "ue:ue-7").startsWith("operator"));

    Status.Code c = refusedWith(pki.client("ue"), null, "operator");
    assertEquals(Status.Code.PERMISSION_DENIED, c);
    StatusRuntimeException other =
        assertThrows(StatusRuntimeException.class, () -> call(pki.client("ue"), null, "ue:ue-2"));
    assertEquals(Status.Code.PERMISSION_DENIED, other.getStatus().getCode());
    assertTrue(other.getStatus().getDescription().contains("test.Who/Call"));
    assertTrue(other.getStatus().getDescription().contains("ue-2"));
    assertEquals(2, refusals("PERMISSION_DENIED"));
  }

  @Test
  void bearerTokensMapToIdentities() throws Exception {
    TokenTable tokens =
        TokenTable.parse(
            List.of(
                "# token roles name",
                "op-token-0123456789abcdef operator alice",
                "sha256:" + TokenTable.digest("ue-token-0123456789abcdef") + " ue ue-3  # hashed"),
            "tokens");
    serve(pki.server("edge", false), tokens, true);
    TlsOptions tls = pki.client(null);
    assertEquals(
        "alice (operator, by token)",
        call(tls, new BearerToken("op-token-0123456789abcdef"), "operator"));
    assertEquals(
        "ue-3 (ue, by token)", call(tls, new BearerToken("ue-token-0123456789abcdef"), "ue:ue-3"));
    assertEquals(
        Status.Code.PERMISSION_DENIED,
        refusedWith(tls, new BearerToken("ue-token-0123456789abcdef"), "operator"));
    int before = handled.get();
    assertEquals(
        Status.Code.UNAUTHENTICATED,
        refusedWith(tls, new BearerToken("not-a-known-token-at-all"), ""));
    assertEquals(before, handled.get(), "an unknown token never reaches the service");
    assertEquals(Status.Code.UNAUTHENTICATED, refusedWith(tls, null, "operator"));
    assertEquals("anonymous (no role, by none)", call(tls, null, ""));
    assertEquals(2, refusals("UNAUTHENTICATED"));
  }

  @Test
  void onlyChannelSimMayForwardAnIdentity() throws Exception {
    serve(pki.server("edge", true), TokenTable.EMPTY, true);
    CallCredentials claimOperator =
        new CallCredentials() {
          @Override
          public void applyRequestMetadata(
              RequestInfo info, java.util.concurrent.Executor e, MetadataApplier applier) {
            io.grpc.Metadata h = new io.grpc.Metadata();
            h.put(ForwardedIdentity.HEADER, "ue-5;ue");
            applier.apply(h);
          }
        };
    // channel-sim forwards the UE it authenticated: the service sees that UE
    assertEquals(
        "ue-5 (ue, by forwarded)", call(pki.client("channel-sim"), claimOperator, "ue:ue-5"));
    // a UE sending the header is still itself
    assertEquals("ue-1 (ue, by certificate)", call(pki.client("ue"), claimOperator, ""));
    assertEquals(
        Status.Code.PERMISSION_DENIED, refusedWith(pki.client("ue"), claimOperator, "ue:ue-5"));
    io.grpc.Metadata m = new io.grpc.Metadata();
    m.put(BearerToken.AUTHORIZATION, "Bearer x");
    ForwardedIdentity.forward(m, Identity.ANONYMOUS);
    assertEquals("Bearer x", m.get(BearerToken.AUTHORIZATION), "anonymous: headers unchanged");
    ForwardedIdentity.forward(
        m, new Identity("ue-2", java.util.Set.of(Role.UE), Identity.Source.TOKEN));
    assertEquals(null, m.get(BearerToken.AUTHORIZATION));
    assertEquals("ue-2;ue", m.get(ForwardedIdentity.HEADER));
    Identity odd =
        new Identity("splitinfer local; CA", java.util.Set.of(), Identity.Source.CERTIFICATE);
    assertEquals(
        odd.name(), ForwardedIdentity.decode(ForwardedIdentity.encode(odd)).orElseThrow().name());
    assertTrue(ForwardedIdentity.decode("x;wizard").isEmpty());
  }

  @Test
  void withoutEnforcementEveryCheckPasses() throws Exception {
    serve(pki.server("edge", false), TokenTable.EMPTY, false);
    assertTrue(call(pki.client(null), null, "operator").startsWith("anonymous"));
    assertTrue(call(pki.client(null), null, "ue:ue-9").startsWith("anonymous"));
  }

  /** UTF-8 strings on the wire. */
  enum Utf8 implements MethodDescriptor.Marshaller<String> {
    INSTANCE;

    @Override
    public InputStream stream(String value) {
      return new ByteArrayInputStream(value.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String parse(InputStream stream) {
      try {
        return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
