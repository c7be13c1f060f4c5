package io.splitinfer.model.checkpoint;

import io.splitinfer.core.numeric.HalfFloats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Floating-point element types of safetensors files, with conversions to and from float32. */
public enum DType {
  F32(4),
  F16(2),
  BF16(2);

  private final int bytes;

  DType(int bytes) {
    this.bytes = bytes;
  }

  public int bytes() {
    return bytes;
  }

  /** Parses a safetensors dtype name; refuses the ones this reader cannot convert. */
  public static DType parse(String name) {
    return switch (name) {
      case "F32" -> F32;
      case "F16" -> F16;
      case "BF16" -> BF16;
      default ->
          throw new IllegalArgumentException(
              "unsupported safetensors dtype " + name + " (supported: F32, F16, BF16)");
    };
  }

  /** Decodes {@code count} little-endian elements from {@code src} (at its position). */
  public void decode(ByteBuffer src, float[] dst, int dstOffset, int count) {
    ByteBuffer b = src.duplicate().order(ByteOrder.LITTLE_ENDIAN);
    switch (this) {
      case F32 -> b.asFloatBuffer().get(dst, dstOffset, count);
      case F16 -> {
        var s = b.asShortBuffer();
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = HalfFloats.fromF16(s.get(i));
        }
      }
      case BF16 -> {
        var s = b.asShortBuffer();
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = HalfFloats.fromBf16(s.get(i));
        }
      }
    }
  }

  /** Encodes floats as little-endian elements of this type into {@code dst} (at its position). */
  public void encode(float[] src, int srcOffset, int count, ByteBuffer dst) {
    ByteBuffer b = dst.order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < count; i++) {
      float f = src[srcOffset + i];
      switch (this) {
        case F32 -> b.putFloat(f);
        case F16 -> b.putShort(HalfFloats.toF16(f));
        case BF16 -> b.putShort(HalfFloats.toBf16(f));
      }
    }
  }
}
