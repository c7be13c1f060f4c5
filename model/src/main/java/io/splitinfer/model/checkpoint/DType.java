package io.splitinfer.model.checkpoint;

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
          dst[dstOffset + i] = halfToFloat(s.get(i));
        }
      }
      case BF16 -> {
        var s = b.asShortBuffer();
        for (int i = 0; i < count; i++) {
          dst[dstOffset + i] = Float.intBitsToFloat((s.get(i) & 0xffff) << 16);
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
        case F16 -> b.putShort(floatToHalf(f));
        case BF16 -> b.putShort(floatToBf16(f));
      }
    }
  }

  /** IEEE 754 binary16 -> float32 (exact). */
  public static float halfToFloat(short h) {
    int bits = h & 0xffff;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1f;
    int mant = bits & 0x3ff;
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    if (exp == 0) {
      if (mant == 0) {
        return Float.intBitsToFloat(sign);
      }
      float v = mant * 0x1p-24f;
      return sign != 0 ? -v : v;
    }
    return Float.intBitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
  }

  /** float32 -> IEEE 754 binary16, round to nearest even (like numpy/torch). */
  public static short floatToHalf(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int exp = (bits >>> 23) & 0xff;
    int mant = bits & 0x7fffff;
    if (exp == 0xff) {
      return (short) (sign | 0x7c00 | (mant != 0 ? 0x200 | (mant >>> 13) : 0));
    }
    int e = exp - 127 + 15;
    if (e >= 0x1f) {
      return (short) (sign | 0x7c00);
    }
    if (e <= 0) {
      if (e < -10) {
        return (short) sign;
      }
      int m = mant | 0x800000;
      int shift = 14 - e;
      int half = m >>> shift;
      int rem = m & ((1 << shift) - 1);
      int mid = 1 << (shift - 1);
      if (rem > mid || (rem == mid && (half & 1) != 0)) {
        half++;
      }
      return (short) (sign | half);
    }
    int half = (e << 10) | (mant >>> 13);
    int rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) {
      half++; // may carry into the exponent, which is the correct rounding
    }
    return (short) (sign | half);
  }

  /** float32 -> bfloat16, round to nearest even. */
  public static short floatToBf16(float f) {
    int bits = Float.floatToRawIntBits(f);
    if (Float.isNaN(f)) {
      return (short) ((bits >>> 16) | 0x40);
    }
    int rounding = 0x7fff + ((bits >>> 16) & 1);
    return (short) ((bits + rounding) >>> 16);
  }
}
