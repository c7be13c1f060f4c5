package io.splitinfer.core.security;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Authorisation checks that services call at the top of a method, on the identity {@link
 * AuthInterceptor} established. A refusal is a {@link StatusRuntimeException} (UNAUTHENTICATED when
 * the caller proved nothing, PERMISSION_DENIED when it lacks the role or acts on another UE),
 * counted in {@code auth_refusals{code,reason}}; the service passes it to {@code onError} and
 * changes nothing. With enforcement off (a server without client certificates or tokens, the
 * transitional default) every check passes.
 */
public final class Authz {
  private final boolean enforce;
  private final MeterRegistry registry;

  /**
   * @param enforce whether checks refuse (true when the server requires client certificates or has
   *     a tokens file)
   */
  public Authz(boolean enforce, MeterRegistry registry) {
    this.enforce = enforce;
    this.registry = registry;
  }

  /** Checks nothing (tests, and servers without authentication). */
  public static Authz off() {
    return new Authz(false, null);
  }

  public boolean enforcing() {
    return enforce;
  }

  /** The caller, if it holds one of {@code roles}; otherwise refuses. */
  public Identity require(Role... roles) {
    Identity id = authenticated();
    for (Role r : roles) {
      if (id.has(r)) {
        return id;
      }
    }
    if (!enforce) {
      return id;
    }
    throw refuse(
        Status.Code.PERMISSION_DENIED,
        "role",
        id
            + " may not call "
            + method()
            + "; it needs the role "
            + Arrays.stream(roles).map(Role::label).collect(Collectors.joining(" or ")));
  }

  /**
   * The caller, if it may act on UE {@code ueId}: a UE whose identity name is {@code ueId}, or an
   * operator. Otherwise refuses.
   */
  public Identity requireUe(String ueId) {
    Identity id = authenticated();
    if (!enforce || id.has(Role.OPERATOR) || (id.has(Role.UE) && id.name().equals(ueId))) {
      return id;
    }
    throw refuse(
        Status.Code.PERMISSION_DENIED,
        "other_ue",
        id + " may not call " + method() + " for ue_id '" + ueId + "'");
  }

  private Identity authenticated() {
    Identity id = Identity.current();
    if (enforce && id.anonymous()) {
      throw refuse(
          Status.Code.UNAUTHENTICATED,
          "anonymous",
          method() + " needs a client certificate (mTLS) or a bearer token");
    }
    return id;
  }

  private static String method() {
    String m = AuthInterceptor.METHOD.get();
    return m == null ? "this method" : m;
  }

  private StatusRuntimeException refuse(Status.Code code, String reason, String description) {
    AuthInterceptor.refused(registry, code, reason);
    return code.toStatus().withDescription(description).asRuntimeException();
  }
}
