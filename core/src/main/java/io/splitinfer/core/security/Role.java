package io.splitinfer.core.security;

import java.util.Locale;
import java.util.Optional;

/**
 * What a caller may do. A certificate carries its roles in the subject's OU (one OU per role:
 * {@code OU=operator}); a bearer token gets them from the tokens file (see {@link TokenTable}).
 */
public enum Role {
  /** A person or script that changes the system: pins splits, sets the policy, sets the channel. */
  OPERATOR,
  /** A user equipment: acts only on its own {@code ue_id} (the identity's name). */
  UE,
  /** The edge server (forwards pilots and reports to the controller). */
  EDGE,
  /** The channel simulator proxy (forwards UE traffic to the edge). */
  CHANNEL_SIM,
  /** The controller (watches channel-sim, talks to the edge). */
  CONTROLLER;

  /**
   * The role named {@code s} as written in an OU or a tokens file: {@code operator}, {@code ue},
   * {@code edge}, {@code channel-sim} (or {@code channel_sim}), {@code controller}; any case.
   */
  public static Optional<Role> parse(String s) {
    if (s == null) {
      return Optional.empty();
    }
    String n = s.strip().toUpperCase(Locale.ROOT).replace('-', '_');
    for (Role r : values()) {
      if (r.name().equals(n)) {
        return Optional.of(r);
      }
    }
    return Optional.empty();
  }

  /** The spelling used in certificates and tokens files ({@code channel-sim}). */
  public String label() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }
}
