package io.splitinfer.model.pkg;

import java.io.IOException;

/** A model package that fails verification: altered manifest, missing or corrupt file, or dims. */
public final class CorruptPackageException extends IOException {
  public CorruptPackageException(String message) {
    super(message);
  }
}
