package io.splitinfer.core.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.core.cli.FlagDefaults;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

class TlsOptionsTest {
  @Test
  void plaintextOnlyOnLoopback() {
    TlsOptions p = TlsOptions.plaintext();
    for (String h : List.of("127.0.0.1", "127.3.4.5", "localhost", "::1", "[::1]", "LOCALHOST")) {
      assertTrue(TlsOptions.isLoopback(h), h);
      p.checkHost(h, "--listen");
    }
    for (String h : List.of("0.0.0.0", "10.0.0.5", "edge", "example.org", "::", "")) {
      assertFalse(TlsOptions.isLoopback(h), h);
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> p.checkHost(h, "--listen"));
      assertTrue(e.getMessage().contains("loopback"), e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> TlsCredentials.server(p, "0.0.0.0"));
    TlsOptions.legacyPlaintext().checkHost("0.0.0.0", "--listen"); // transitional: allowed
  }

  @Test
  void inconsistentOptionsAreRefused() {
    Path c = Path.of("c.pem");
    assertThrows(IllegalArgumentException.class, () -> TlsOptions.tls(c, null, null, false));
    assertThrows(IllegalArgumentException.class, () -> TlsOptions.tls(c, c, null, true));
    assertThrows(
        IllegalArgumentException.class,
        () -> new TlsOptions(TlsOptions.Mode.PLAINTEXT, c, c, null, false));
    assertThrows(
        IllegalArgumentException.class,
        () -> TlsCredentials.server(TlsOptions.tls(null, null, c, false), "127.0.0.1"));
    IllegalArgumentException missing =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                TlsCredentials.server(
                    TlsOptions.tls(Path.of("/nonexistent/a.pem"), Path.of("/x.key"), null, false),
                    "127.0.0.1"));
    assertTrue(missing.getMessage().contains("/nonexistent/a.pem"), missing.getMessage());
  }

  @Command(name = "t")
  static final class Cmd implements Runnable {
    @Mixin TlsFlags tls;

    @Override
    public void run() {}
  }

  private static TlsFlags parse(Map<String, String> env, String... args) {
    Cmd cmd = new Cmd();
    new CommandLine(cmd)
        .setDefaultValueProvider(new FlagDefaults(env, new Properties()))
        .parseArgs(args);
    return cmd.tls;
  }

  @Test
  void flagsAndEnvironmentNames() {
    TlsFlags f =
        parse(
            Map.of("TLS_CERT", "/e/cert.pem", "TLS_KEY", "/e/key.pem", "TLS_CA", "/e/ca.pem"),
            "--tls-client-auth");
    TlsOptions o = f.options(false);
    assertEquals(TlsOptions.Mode.TLS, o.mode());
    assertEquals(Path.of("/e/cert.pem"), o.certChain());
    assertEquals(Path.of("/e/ca.pem"), o.trustRoots());
    assertTrue(o.requireClientAuth());
    assertTrue(f.authenticates());

    TlsFlags none = parse(Map.of());
    assertEquals(TlsOptions.Mode.LEGACY_PLAINTEXT, none.options(true).mode());
    assertThrows(IllegalArgumentException.class, () -> none.options(false));
    assertFalse(none.authenticates());
    assertNull(none.bearerToken());

    TlsFlags plain = parse(Map.of("PLAINTEXT", "true"));
    assertEquals(TlsOptions.Mode.PLAINTEXT, plain.options(false).mode());

    TlsFlags tok = parse(Map.of("TOKEN", "abcdefghijklmnopq", "TLS_CA", "/e/ca.pem"));
    assertTrue(tok.bearerToken() instanceof BearerToken);
    IllegalArgumentException clear =
        assertThrows(
            IllegalArgumentException.class,
            () -> parse(Map.of("TOKEN", "abcdefghijklmnopq")).options(true));
    assertTrue(clear.getMessage().contains("only over TLS"), clear.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> parse(Map.of(), "--token", "abcdefghijklmnopq", "--token-file", "/x").bearerToken());
  }

  @Test
  void tokensFileErrorsNameTheLine() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> TokenTable.parse(List.of("", "abcdefghijklmnopqrst wizard bob"), "f"));
    assertTrue(e.getMessage().startsWith("f:2"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class, () -> TokenTable.parse(List.of("short operator bob"), "f"));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            TokenTable.parse(
                List.of("abcdefghijklmnopqrst ue a", "abcdefghijklmnopqrst ue b"), "f"));
    TokenTable t = TokenTable.parse(List.of("abcdefghijklmnopqrst ue,edge both"), "f");
    assertEquals(
        Set.of(Role.UE, Role.EDGE), t.lookup("abcdefghijklmnopqrst").orElseThrow().roles());
    assertTrue(t.lookup("abcdefghijklmnopqrsT").isEmpty());
  }

  @Test
  void subjectParsing() {
    Identity id = AuthInterceptor.fromSubject("CN=ue-1,OU=ue,OU=bogus,O=splitinfer");
    assertEquals("ue-1", id.name());
    assertEquals(Set.of(Role.UE), id.roles());
    assertEquals(
        Set.of(Role.CHANNEL_SIM), AuthInterceptor.fromSubject("CN=x,OU=channel-sim").roles());
  }
}
