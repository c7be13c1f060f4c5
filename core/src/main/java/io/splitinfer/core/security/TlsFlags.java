package io.splitinfer.core.security;

import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptor;
import io.micrometer.core.instrument.MeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * The security flags every service and CLI takes ({@code @Mixin TlsFlags tls;}). Each reads the
 * environment variable of its name through core's {@code FlagDefaults} ({@code --tls-cert} is
 * {@code TLS_CERT}, {@code --token-file} is {@code TOKEN_FILE}). Servers use {@code --tls-cert},
 * {@code --tls-key}, {@code --tls-ca}, {@code --tls-client-auth} and {@code --auth-tokens}; clients
 * use {@code --tls-ca}, optionally {@code --tls-cert}/{@code --tls-key} (mTLS), and {@code
 * --token}/{@code --token-file}. {@code --plaintext} opts out of TLS on loopback only.
 */
public final class TlsFlags {
  @Option(
      names = "--tls-cert",
      paramLabel = "PEM",
      description = "This process's certificate chain (PEM). Servers: required for TLS.")
  Path cert;

  @Option(
      names = "--tls-key",
      paramLabel = "PEM",
      description = "Private key of --tls-cert (PEM, PKCS#8).")
  Path key;

  @Option(
      names = "--tls-ca",
      paramLabel = "PEM",
      description =
          "Trust roots (PEM) for the peer's certificate (clients: default = the JDK's roots;"
              + " servers: the CA of client certificates).")
  Path ca;

  @Option(
      names = "--tls-client-auth",
      description = "Servers: require a client certificate signed by --tls-ca (mutual TLS).")
  boolean clientAuth;

  @Option(
      names = "--plaintext",
      description = "No TLS: allowed only when the listen/target host is loopback.")
  boolean plaintext;

  @Option(
      names = "--auth-tokens",
      paramLabel = "FILE",
      description = "Servers: bearer tokens accepted, one 'TOKEN ROLES NAME' per line.")
  Path authTokens;

  @Option(
      names = "--token",
      paramLabel = "TOKEN",
      description = "Clients: bearer token sent on every call (prefer --token-file).")
  String token;

  @Option(
      names = "--token-file",
      paramLabel = "FILE",
      description = "Clients: file holding the bearer token sent on every call.")
  Path tokenFile;

  /**
   * The transport options the flags name.
   *
   * @param legacyPlaintextDefault what no TLS file and no {@code --plaintext} mean: true =
   *     plaintext on any host (the transitional default), false = an error
   */
  public TlsOptions options(boolean legacyPlaintextDefault) {
    if (plaintext) {
      return new TlsOptions(TlsOptions.Mode.PLAINTEXT, cert, key, null, clientAuth);
    }
    if (cert == null && key == null && ca == null && !clientAuth) {
      if (authTokens != null || token != null || tokenFile != null) {
        throw new IllegalArgumentException(
            "bearer tokens travel only over TLS (--tls-cert/--tls-key/--tls-ca) or --plaintext"
                + " on loopback");
      }
      if (legacyPlaintextDefault) {
        return TlsOptions.legacyPlaintext();
      }
      throw new IllegalArgumentException(
          "no TLS configuration: give --tls-cert/--tls-key/--tls-ca (scripts/gen-certs.sh makes"
              + " them), or --plaintext on loopback");
    }
    return TlsOptions.tls(cert, key, ca, clientAuth);
  }

  /** Server credentials for a server bound to {@code bindHost}. */
  public ServerCredentials serverCredentials(String bindHost, boolean legacyPlaintextDefault) {
    return TlsCredentials.server(options(legacyPlaintextDefault), bindHost);
  }

  /** Channel credentials (with the bearer token, if any) for a client of {@code targetHost}. */
  public ChannelCredentials channelCredentials(String targetHost, boolean legacyPlaintextDefault) {
    return TlsCredentials.client(options(legacyPlaintextDefault), targetHost, bearerToken());
  }

  /** The bearer token of {@code --token} or {@code --token-file}; null when neither. */
  public CallCredentials bearerToken() {
    if (token != null && tokenFile != null) {
      throw new IllegalArgumentException("give --token or --token-file, not both");
    }
    if (token != null) {
      return new BearerToken(token);
    }
    if (tokenFile != null) {
      try {
        return new BearerToken(Files.readString(tokenFile, StandardCharsets.UTF_8).strip());
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read --token-file " + tokenFile, e);
      }
    }
    return null;
  }

  /**
   * The name (CN) in this process's certificate {@code --tls-cert}, if one is given and readable: a
   * UE's default {@code ue_id}, so that it matches the identity the servers see.
   */
  public java.util.Optional<String> certificateName() {
    if (cert == null || plaintext) {
      return java.util.Optional.empty();
    }
    try (java.io.InputStream in = Files.newInputStream(cert)) {
      java.security.cert.Certificate c =
          java.security.cert.CertificateFactory.getInstance("X.509").generateCertificate(in);
      if (c instanceof java.security.cert.X509Certificate x) {
        Identity id = AuthInterceptor.fromSubject(x.getSubjectX500Principal().getName());
        return java.util.Optional.ofNullable(id).map(Identity::name);
      }
    } catch (IOException | java.security.cert.CertificateException e) {
      // unreadable: the TLS setup reports it with the file's name
    }
    return java.util.Optional.empty();
  }

  /** The tokens of {@code --auth-tokens} (empty without it). */
  public TokenTable tokens() {
    return authTokens == null ? TokenTable.EMPTY : TokenTable.load(authTokens);
  }

  /**
   * Whether a server built from these flags authenticates callers: it requires client certificates
   * or has a tokens file. Services pass it to {@link Authz}.
   */
  public boolean authenticates() {
    return clientAuth || authTokens != null;
  }

  /** The server's interceptor (identity from certificate or token). */
  public ServerInterceptor interceptor(MeterRegistry registry) {
    return new AuthInterceptor(tokens(), registry);
  }

  /** The server's authorisation checks, enforcing when {@link #authenticates()}. */
  public Authz authz(MeterRegistry registry) {
    return new Authz(authenticates(), registry);
  }
}
