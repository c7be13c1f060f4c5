package io.splitinfer.core.cli;

import java.net.InetSocketAddress;

/**
 * A {@code HOST:PORT} address as every service's flags take it ({@code --listen}, {@code --edge},
 * {@code --controller}, ...). The last colon separates the port, so bracket-free IPv6 hosts are not
 * supported.
 */
public record HostPort(String host, int port) {

  /**
   * Parses {@code value}; {@code what} names the flag in the error message.
   *
   * @throws IllegalArgumentException when it is not HOST:PORT with a port in 0..65535
   */
  public static HostPort parse(String value, String what) {
    int i = value == null ? -1 : value.lastIndexOf(':');
    if (i <= 0 || i == value.length() - 1) {
      throw new IllegalArgumentException(what + " must be HOST:PORT, got " + value);
    }
    int port;
    try {
      port = Integer.parseInt(value.substring(i + 1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(what + " must be HOST:PORT, got " + value, e);
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(what + " port out of range 0..65535: " + value);
    }
    return new HostPort(value.substring(0, i), port);
  }

  /** The socket address (resolves the host). */
  public InetSocketAddress toSocketAddress() {
    return new InetSocketAddress(host, port);
  }
}
