package io.splitinfer.core.security;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Bearer tokens a server accepts and the identity each stands for, loaded once at startup (flag
 * {@code --auth-tokens FILE}). One entry per line, {@code #} starts a comment:
 *
 * <pre>
 * # TOKEN                         ROLES            NAME
 * 3f9c0d1e8b2a4c6e9f1a2b3c4d5e6f70 operator        alice
 * sha256:9b74c9897bac770ffc029102a200c5de... ue     ue-1
 * </pre>
 *
 * ROLES is a comma-separated list of {@link Role} labels; NAME is the identity's name (a UE's
 * {@code ue_id}). A token may be given in clear or as {@code sha256:HEX} of its UTF-8 bytes. Tokens
 * are kept only as SHA-256 digests; lookups hash the presented token.
 */
public final class TokenTable {
  /** Shortest token accepted (in clear), to keep guessing out of reach. */
  public static final int MIN_TOKEN_CHARS = 16;

  /** The empty table: every token is unknown. */
  public static final TokenTable EMPTY = new TokenTable(Map.of());

  private final Map<String, Identity> byDigest;

  private TokenTable(Map<String, Identity> byDigest) {
    this.byDigest = Map.copyOf(byDigest);
  }

  /** Reads a tokens file; IllegalArgumentException with the line number when malformed. */
  public static TokenTable load(Path file) {
    try {
      return parse(Files.readAllLines(file, StandardCharsets.UTF_8), file.toString());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read tokens file " + file, e);
    }
  }

  /** Parses tokens-file lines; {@code source} names them in error messages. */
  public static TokenTable parse(List<String> lines, String source) {
    Map<String, Identity> m = new HashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      int hash = line.indexOf('#');
      String s = (hash >= 0 ? line.substring(0, hash) : line).strip();
      if (s.isEmpty()) {
        continue;
      }
      String where = source + ":" + (i + 1);
      String[] f = s.split("\\s+");
      if (f.length != 3) {
        throw new IllegalArgumentException(where + ": expected TOKEN ROLES NAME");
      }
      String digest;
      if (f[0].startsWith("sha256:")) {
        digest = f[0].substring("sha256:".length()).toLowerCase(java.util.Locale.ROOT);
        if (!digest.matches("[0-9a-f]{64}")) {
          throw new IllegalArgumentException(where + ": sha256: needs 64 hex digits");
        }
      } else {
        if (f[0].length() < MIN_TOKEN_CHARS) {
          throw new IllegalArgumentException(
              where + ": token shorter than " + MIN_TOKEN_CHARS + " characters");
        }
        digest = digest(f[0]);
      }
      Set<Role> roles = EnumSet.noneOf(Role.class);
      for (String r : f[1].split(",")) {
        roles.add(
            Role.parse(r)
                .orElseThrow(
                    () -> new IllegalArgumentException(where + ": unknown role '" + r + "'")));
      }
      if (m.put(digest, new Identity(f[2], roles, Identity.Source.TOKEN)) != null) {
        throw new IllegalArgumentException(where + ": duplicate token");
      }
    }
    return new TokenTable(m);
  }

  /** The identity of {@code token}, if it is in the table. */
  public Optional<Identity> lookup(String token) {
    if (token == null || token.isEmpty()) {
      return Optional.empty();
    }
    return Optional.ofNullable(byDigest.get(digest(token)));
  }

  public int size() {
    return byDigest.size();
  }

  /** Hex SHA-256 of the token's UTF-8 bytes (the form {@code sha256:HEX} in a tokens file). */
  public static String digest(String token) {
    try {
      return HexFormat.of()
          .formatHex(
              MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is required of every JDK", e);
    }
  }
}
