package io.splitinfer.core.security;

import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.CompositeChannelCredentials;
import io.grpc.InsecureChannelCredentials;
import io.grpc.InsecureServerCredentials;
import io.grpc.ServerCredentials;
import io.grpc.TlsChannelCredentials;
import io.grpc.TlsServerCredentials;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds gRPC credentials from {@link TlsOptions}: {@code NettyServerBuilder.forAddress(addr,
 * TlsCredentials.server(opts, host))} and {@code Grpc.newChannelBuilder(target,
 * TlsCredentials.client(opts, host, token))}. Reads the PEM files (I/O happens here, not in the
 * options record); an unreadable or malformed file is an {@link IllegalArgumentException} naming
 * it.
 */
public final class TlsCredentials {
  private static final Logger log = LoggerFactory.getLogger(TlsCredentials.class);

  private TlsCredentials() {}

  /**
   * Server credentials for a server bound to {@code bindHost}.
   *
   * @throws IllegalArgumentException plaintext on a non-loopback host, TLS without a certificate,
   *     or unreadable PEM files
   */
  public static ServerCredentials server(TlsOptions o, String bindHost) {
    o.checkHost(bindHost, "--listen");
    if (o.isPlaintext()) {
      warnLegacy(o, "server on", bindHost);
      return InsecureServerCredentials.create();
    }
    if (o.certChain() == null) {
      throw new IllegalArgumentException("a TLS server needs --tls-cert and --tls-key");
    }
    try {
      TlsServerCredentials.Builder b =
          TlsServerCredentials.newBuilder()
              .keyManager(o.certChain().toFile(), o.privateKey().toFile());
      if (o.trustRoots() != null) {
        b.trustManager(o.trustRoots().toFile())
            .clientAuth(
                o.requireClientAuth()
                    ? TlsServerCredentials.ClientAuth.REQUIRE
                    : TlsServerCredentials.ClientAuth.OPTIONAL);
      }
      return b.build();
    } catch (IOException | UncheckedIOException | IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "cannot load TLS files "
              + o.certChain()
              + ", "
              + o.privateKey()
              + ", "
              + o.trustRoots()
              + ": "
              + e.getMessage(),
          e);
    }
  }

  /**
   * Channel credentials for a client of {@code targetHost}, with an optional bearer token sent on
   * every call (null = none).
   *
   * @throws IllegalArgumentException plaintext on a non-loopback host, or unreadable PEM files
   */
  public static ChannelCredentials client(
      TlsOptions o, String targetHost, CallCredentials callCredentials) {
    o.checkHost(targetHost, "the target");
    ChannelCredentials base;
    if (o.isPlaintext()) {
      warnLegacy(o, "client of", targetHost);
      base = InsecureChannelCredentials.create();
    } else {
      try {
        TlsChannelCredentials.Builder b = TlsChannelCredentials.newBuilder();
        if (o.certChain() != null) {
          b.keyManager(o.certChain().toFile(), o.privateKey().toFile());
        }
        if (o.trustRoots() != null) {
          b.trustManager(o.trustRoots().toFile());
        }
        base = b.build();
      } catch (IOException | UncheckedIOException | IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "cannot load TLS files "
                + o.certChain()
                + ", "
                + o.privateKey()
                + ", "
                + o.trustRoots()
                + ": "
                + e.getMessage(),
            e);
      }
    }
    return callCredentials == null
        ? base
        : CompositeChannelCredentials.create(base, callCredentials);
  }

  private static void warnLegacy(TlsOptions o, String what, String host) {
    if (o.mode() == TlsOptions.Mode.LEGACY_PLAINTEXT && !TlsOptions.isLoopback(host)) {
      log.warn(
          "{} {}: plaintext without --plaintext (transitional default): traffic is neither"
              + " encrypted nor authenticated; give --tls-cert/--tls-key/--tls-ca",
          what,
          host);
    }
  }
}
