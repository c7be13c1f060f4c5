package io.splitinfer.model.engine;

import java.util.Locale;

/**
 * Which engine runs a package's layers: ONNX Runtime over the ONNX parts (every weight format,
 * CUDA) or the Java Vector API engine over their float weights (f32/f16 packages; faster at the
 * default model's size, see model/README.md "The vector engine"). Every service takes it as {@code
 * --engine}; both sides of a split must run the same kind for bit-identical results.
 */
public enum EngineKind {
  ONNX,
  VECTOR;

  /** "onnx" or "vector" (any case). */
  public static EngineKind parse(String name) {
    for (EngineKind k : values()) {
      if (k.name().equalsIgnoreCase(name)) {
        return k;
      }
    }
    throw new IllegalArgumentException("engine must be onnx or vector, not '" + name + "'");
  }

  @Override
  public String toString() {
    return name().toLowerCase(Locale.ROOT);
  }
}
