package io.splitinfer.core.security;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Certificates made by scripts/gen-certs.sh (tests skip when openssl is missing). */
final class TestPki {
  final Path dir;

  private TestPki(Path dir) {
    this.dir = dir;
  }

  /** Runs gen-certs.sh into {@code dir}. */
  static TestPki generate(Path dir) throws IOException, InterruptedException {
    Path script = Path.of("..", "scripts", "gen-certs.sh").toAbsolutePath().normalize();
    assumeTrue(Files.isExecutable(script), "scripts/gen-certs.sh not found at " + script);
    assumeTrue(onPath("openssl"), "openssl not installed");
    Process p =
        new ProcessBuilder("bash", script.toString(), dir.toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("gen-certs.sh failed: " + out);
    }
    return new TestPki(dir);
  }

  private static boolean onPath(String exe) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String d : path.split(java.io.File.pathSeparator)) {
      if (Files.isExecutable(Path.of(d, exe))) {
        return true;
      }
    }
    return false;
  }

  Path ca() {
    return dir.resolve("ca.pem");
  }

  Path cert(String svc) {
    return dir.resolve(svc + ".pem");
  }

  Path key(String svc) {
    return dir.resolve(svc + ".key");
  }

  /** Server options for {@code svc}, with or without required client certificates. */
  TlsOptions server(String svc, boolean mtls) {
    return TlsOptions.tls(cert(svc), key(svc), ca(), mtls);
  }

  /** Client options trusting this CA, with {@code svc}'s certificate (null = none). */
  TlsOptions client(String svc) {
    return svc == null
        ? TlsOptions.tls(null, null, ca(), false)
        : TlsOptions.tls(cert(svc), key(svc), ca(), false);
  }
}
