package io.splitinfer.core.security;

import io.grpc.Metadata;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The identity a proxy (channel-sim) authenticated, passed on to the server behind it in the {@code
 * splitinfer-forwarded-identity} header as {@code NAME;ROLE,ROLE}. {@link AuthInterceptor} believes
 * the header only from a caller that itself holds {@link Role#CHANNEL_SIM}; from anyone else it is
 * ignored. The proxy removes whatever header its own caller sent before setting it.
 */
public final class ForwardedIdentity {
  /** The header. */
  public static final Metadata.Key<String> HEADER =
      Metadata.Key.of("splitinfer-forwarded-identity", Metadata.ASCII_STRING_MARSHALLER);

  /** Longest forwarded name (URL-encoded in the header). */
  private static final int MAX_NAME_CHARS = 256;

  private ForwardedIdentity() {}

  /**
   * Replaces any forwarded identity in {@code headers} with {@code id} (nothing for an anonymous
   * caller, whose headers then pass unchanged). When {@code id} is set, the caller's {@code
   * authorization} header is removed too: the server behind trusts the proxy, not the token.
   */
  public static void forward(Metadata headers, Identity id) {
    headers.discardAll(HEADER);
    if (id == null || id.anonymous()) {
      return;
    }
    headers.discardAll(BearerToken.AUTHORIZATION);
    headers.put(HEADER, encode(id));
  }

  static String encode(Identity id) {
    return URLEncoder.encode(id.name(), StandardCharsets.UTF_8)
        + ";"
        + id.roles().stream().map(Role::label).sorted().collect(Collectors.joining(","));
  }

  /** Parses a header value; empty when malformed. */
  static Optional<Identity> decode(String v) {
    int semi = v == null ? -1 : v.indexOf(';');
    if (semi <= 0) {
      return Optional.empty();
    }
    String name;
    try {
      name = URLDecoder.decode(v.substring(0, semi), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
    if (name.isBlank() || name.length() > MAX_NAME_CHARS) {
      return Optional.empty();
    }
    Set<Role> roles = EnumSet.noneOf(Role.class);
    String r = v.substring(semi + 1);
    if (!r.isEmpty()) {
      for (String s : r.split(",")) {
        Optional<Role> role = Role.parse(s);
        if (role.isEmpty()) {
          return Optional.empty();
        }
        roles.add(role.get());
      }
    }
    return Optional.of(new Identity(name, roles, Identity.Source.FORWARDED));
  }
}
