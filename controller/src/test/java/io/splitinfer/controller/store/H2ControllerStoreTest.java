package io.splitinfer.controller.store;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The records database the controller uses by default: an embedded H2 file. */
class H2ControllerStoreTest extends ControllerStoreContract {
  @TempDir Path dir;
  private int n;

  @Override
  String newLocation() {
    return dir.resolve("controller-records-" + (++n)).toString();
  }
}
