package io.splitinfer.core.security;

import io.grpc.CallCredentials;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.concurrent.Executor;

/**
 * Client side of token authentication: sends {@code authorization: Bearer TOKEN} on every call.
 * Combine with TLS through {@link TlsCredentials#client}, so the token never travels in clear
 * (plaintext is refused off loopback).
 */
public final class BearerToken extends CallCredentials {
  /** The {@code authorization} header. */
  public static final Metadata.Key<String> AUTHORIZATION =
      Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);

  private final String token;

  public BearerToken(String token) {
    if (token == null || token.isBlank() || !token.strip().equals(token)) {
      throw new IllegalArgumentException("a bearer token must be non-blank, without spaces");
    }
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c < 0x21 || c > 0x7e) {
        throw new IllegalArgumentException("a bearer token must be printable ASCII");
      }
    }
    this.token = token;
  }

  @Override
  public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
    try {
      Metadata h = new Metadata();
      h.put(AUTHORIZATION, "Bearer " + token);
      applier.apply(h);
    } catch (RuntimeException e) {
      applier.fail(Status.UNAUTHENTICATED.withDescription("cannot attach token").withCause(e));
    }
  }

  @Override
  public String toString() {
    return "BearerToken[****]";
  }
}
