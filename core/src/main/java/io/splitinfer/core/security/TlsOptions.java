package io.splitinfer.core.security;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * How one process secures its gRPC links: TLS with a certificate chain and PKCS#8 private key (PEM
 * files), trust roots for verifying the peer, and whether a server demands client certificates
 * (mutual TLS). Plaintext is an explicit opt-in that {@link TlsCredentials} accepts only for a
 * loopback bind or target host; {@link Mode#LEGACY_PLAINTEXT} is the transitional default of
 * services not yet switched to TLS-on (any host, with a warning).
 *
 * @param mode TLS, plaintext on loopback, or legacy plaintext
 * @param certChain PEM certificate chain (leaf first); a server needs it, a client only for mTLS
 * @param privateKey PEM PKCS#8 private key of {@code certChain}
 * @param trustRoots PEM trust roots for the peer's certificate; null = the JDK's default roots
 *     (clients) or no client certificates accepted (servers)
 * @param requireClientAuth a server refuses clients without a certificate signed by {@code
 *     trustRoots}
 */
public record TlsOptions(
    Mode mode, Path certChain, Path privateKey, Path trustRoots, boolean requireClientAuth) {

  /** Transport security. */
  public enum Mode {
    /** TLS (and mTLS with {@code requireClientAuth} or a client certificate). */
    TLS,
    /** No encryption, refused unless the host is loopback. */
    PLAINTEXT,
    /** No encryption on any host: the pre-TLS default, kept until every service speaks TLS. */
    LEGACY_PLAINTEXT
  }

  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

  public TlsOptions {
    if (mode == null) {
      throw new IllegalArgumentException("mode is required");
    }
    if ((certChain == null) != (privateKey == null)) {
      throw new IllegalArgumentException("give both --tls-cert and --tls-key, or neither");
    }
    if (mode != Mode.TLS && (certChain != null || requireClientAuth)) {
      throw new IllegalArgumentException(
          "--plaintext cannot be combined with --tls-cert/--tls-key/--tls-client-auth");
    }
    if (requireClientAuth && trustRoots == null) {
      throw new IllegalArgumentException(
          "--tls-client-auth needs --tls-ca (the roots that sign client certificates)");
    }
  }

  /** TLS with these files ({@code trustRoots} may be null, see the record doc). */
  public static TlsOptions tls(
      Path certChain, Path privateKey, Path trustRoots, boolean requireClientAuth) {
    return new TlsOptions(Mode.TLS, certChain, privateKey, trustRoots, requireClientAuth);
  }

  /** Plaintext, loopback only. */
  public static TlsOptions plaintext() {
    return new TlsOptions(Mode.PLAINTEXT, null, null, null, false);
  }

  /** Plaintext on any host (transitional default; logs a warning where used). */
  public static TlsOptions legacyPlaintext() {
    return new TlsOptions(Mode.LEGACY_PLAINTEXT, null, null, null, false);
  }

  public boolean isPlaintext() {
    return mode != Mode.TLS;
  }

  /**
   * Whether {@code host} (a name or IP literal, optionally in brackets) is loopback: {@code
   * localhost}, 127.0.0.0/8 or ::1. Does no DNS lookup (other names are not loopback).
   */
  public static boolean isLoopback(String host) {
    if (host == null) {
      return false;
    }
    String h = host.strip().toLowerCase(Locale.ROOT);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    if (h.equals("localhost") || h.endsWith(".localhost")) {
      return true;
    }
    if (!IPV4.matcher(h).matches() && !h.contains(":")) {
      return false; // a name other than localhost: never resolved here
    }
    try {
      return InetAddress.getByName(h).isLoopbackAddress(); // literal: parsed, not looked up
    } catch (UnknownHostException e) {
      return false;
    }
  }

  /**
   * Refuses plaintext on a non-loopback host.
   *
   * @param host the bind host (servers) or target host (clients)
   * @param flag the flag that named the host, for the message
   * @throws IllegalArgumentException when {@link Mode#PLAINTEXT} meets a non-loopback host
   */
  public void checkHost(String host, String flag) {
    if (mode == Mode.PLAINTEXT && !isLoopback(host)) {
      throw new IllegalArgumentException(
          "--plaintext is allowed only on loopback, but "
              + flag
              + " is "
              + host
              + "; give --tls-cert/--tls-key/--tls-ca (scripts/gen-certs.sh makes them)");
    }
  }
}
