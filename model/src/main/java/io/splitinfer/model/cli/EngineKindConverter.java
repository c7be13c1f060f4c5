package io.splitinfer.model.cli;

import io.splitinfer.model.engine.EngineKind;
import io.splitinfer.model.vector.VectorEngine;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * picocli converter of {@code --engine} (model, ue-client and edge-server commands): refuses {@code
 * vector} up front, as a usage error, when the JVM was started without the Vector API module.
 */
public final class EngineKindConverter implements ITypeConverter<EngineKind> {
  @Override
  public EngineKind convert(String value) {
    EngineKind kind;
    try {
      kind = EngineKind.parse(value);
    } catch (IllegalArgumentException e) {
      throw new TypeConversionException(e.getMessage());
    }
    if (kind == EngineKind.VECTOR && !VectorEngine.available()) {
      throw new TypeConversionException(
          "the vector engine needs the JDK's Vector API: start java with --add-modules"
              + " jdk.incubator.vector");
    }
    return kind;
  }
}
