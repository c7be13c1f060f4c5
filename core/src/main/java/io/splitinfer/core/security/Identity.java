package io.splitinfer.core.security;

import io.grpc.Context;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Who is calling, as {@link AuthInterceptor} established it for the current call: the mTLS
 * certificate's subject (CN = name, OU = roles) or the entry of a bearer token in the tokens file.
 * Services read it with {@link #current()} (or let {@link Authz} check it).
 *
 * @param name the certificate's CN or the token's name; for a UE, its {@code ue_id}
 * @param roles the roles granted
 * @param source how the caller proved it
 */
public record Identity(String name, Set<Role> roles, Source source) {
  /** How an identity was established. */
  public enum Source {
    /** A client certificate verified by mutual TLS. */
    CERTIFICATE,
    /** A bearer token found in the tokens file. */
    TOKEN,
    /** Asserted by a trusted proxy (a caller with the CHANNEL_SIM role), see ForwardedIdentity. */
    FORWARDED,
    /** Nothing: no client certificate and no token. */
    NONE
  }

  /** The caller that proved nothing. */
  public static final Identity ANONYMOUS = new Identity("anonymous", Set.of(), Source.NONE);

  /** The identity of the call in progress (set by {@link AuthInterceptor}). */
  static final Context.Key<Identity> KEY = Context.keyWithDefault("splitinfer-identity", ANONYMOUS);

  public Identity {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("an identity needs a name");
    }
    roles = roles.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(roles));
    if (source == null) {
      throw new IllegalArgumentException("an identity needs a source");
    }
  }

  /** The identity of the gRPC call running on this thread; {@link #ANONYMOUS} outside one. */
  public static Identity current() {
    return KEY.get();
  }

  public boolean anonymous() {
    return source == Source.NONE;
  }

  public boolean has(Role r) {
    return roles.contains(r);
  }

  @Override
  public String toString() {
    return name
        + " ("
        + (roles.isEmpty()
            ? "no role"
            : roles.stream().map(Role::label).sorted().collect(Collectors.joining(",")))
        + ", by "
        + source.name().toLowerCase(Locale.ROOT)
        + ")";
  }
}
