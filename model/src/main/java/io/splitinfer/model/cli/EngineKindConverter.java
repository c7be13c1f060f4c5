package io.splitinfer.model.cli;

import io.splitinfer.model.engine.EngineKind;
import picocli.CommandLine.ITypeConverter;

/** picocli converter of {@code --engine} (model, ue-client and edge-server commands). */
public final class EngineKindConverter implements ITypeConverter<EngineKind> {
  @Override
  public EngineKind convert(String value) {
    return EngineKind.parse(value);
  }
}
