package io.splitinfer.proto;

import com.google.protobuf.ByteString;
import io.splitinfer.core.numeric.HalfFloats;
import io.splitinfer.proto.v1.ByteOrder;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.Tensor;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The one adapter between {@link Tensor} messages and Java float arrays. Encoding is always
 * little-endian, row-major. Decoding validates everything a peer could get wrong and throws {@link
 * TensorFormatException} with a message fit for a gRPC status description.
 */
public final class TensorCodec {
  /** Upper bound on elements in one tensor (guards allocation from a hostile shape). */
  public static final long MAX_ELEMENTS = 1L << 28;

  private TensorCodec() {}

  /** Bytes per element of a dtype. */
  public static int bytesPerElement(DType dtype) {
    return switch (dtype) {
      case DTYPE_F32 -> 4;
      case DTYPE_F16, DTYPE_BF16 -> 2;
      case DTYPE_INT8 -> 1;
      default -> throw new TensorFormatException("unsupported dtype " + dtype);
    };
  }

  /** Number of elements of a shape (1 for the empty shape), validated. */
  public static long elementCount(long... shape) {
    long n = 1;
    for (long d : shape) {
      if (d < 0) {
        throw new TensorFormatException("negative dimension in shape " + Arrays.toString(shape));
      }
      if (d > MAX_ELEMENTS) {
        // refused before multiplying: a product of two hostile dimensions can overflow a long
        throw new TensorFormatException(
            "dimension " + d + " in shape " + Arrays.toString(shape) + " exceeds " + MAX_ELEMENTS);
      }
      n *= d; // both factors <= 2^28 here, so no overflow
      if (n > MAX_ELEMENTS) {
        throw new TensorFormatException(
            "shape " + Arrays.toString(shape) + " exceeds " + MAX_ELEMENTS + " elements");
      }
    }
    return n;
  }

  /** Encodes {@code values} (row-major, length = product of shape) as {@code dtype}. */
  public static Tensor encode(float[] values, DType dtype, long... shape) {
    return encode(values, 0, values.length, dtype, shape);
  }

  /** Encodes {@code length} values starting at {@code offset}. */
  public static Tensor encode(float[] values, int offset, int length, DType dtype, long... shape) {
    long n = elementCount(shape);
    if (n != length) {
      throw new TensorFormatException(
          "shape " + Arrays.toString(shape) + " has " + n + " elements but " + length + " given");
    }
    Tensor.Builder b =
        Tensor.newBuilder().setDtype(dtype).setByteOrder(ByteOrder.BYTE_ORDER_LITTLE_ENDIAN);
    for (long d : shape) {
      b.addShape(d);
    }
    ByteBuffer buf =
        ByteBuffer.allocate(length * bytesPerElement(dtype))
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    switch (dtype) {
      case DTYPE_F32 -> {
        for (int i = 0; i < length; i++) {
          buf.putFloat(values[offset + i]);
        }
      }
      case DTYPE_F16 -> {
        for (int i = 0; i < length; i++) {
          buf.putShort(HalfFloats.toF16(values[offset + i]));
        }
      }
      case DTYPE_BF16 -> {
        for (int i = 0; i < length; i++) {
          buf.putShort(HalfFloats.toBf16(values[offset + i]));
        }
      }
      case DTYPE_INT8 -> {
        float maxAbs = 0f;
        for (int i = 0; i < length; i++) {
          float a = Math.abs(values[offset + i]);
          if (Float.isNaN(a) || Float.isInfinite(a)) {
            throw new TensorFormatException("int8 cannot encode NaN or infinity");
          }
          maxAbs = Math.max(maxAbs, a);
        }
        float scale = maxAbs > 0 ? maxAbs / 127f : 1f;
        for (int i = 0; i < length; i++) {
          buf.put((byte) Math.max(-127, Math.min(127, Math.round(values[offset + i] / scale))));
        }
        b.setScale(scale);
      }
      default -> throw new TensorFormatException("unsupported dtype " + dtype);
    }
    buf.flip();
    return b.setData(ByteString.copyFrom(buf)).build();
  }

  /** Decoded shape of a tensor message, validated. */
  public static long[] shape(Tensor t) {
    long[] shape = new long[t.getShapeCount()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = t.getShape(i);
    }
    elementCount(shape);
    return shape;
  }

  /** Checks dtype, byte order, scale and that data length matches shape. */
  public static void validate(Tensor t) {
    if (t.getByteOrder() != ByteOrder.BYTE_ORDER_LITTLE_ENDIAN) {
      throw new TensorFormatException(
          "byte order " + t.getByteOrder() + " is not supported; send little-endian");
    }
    if (t.getDtype() == DType.DTYPE_UNSPECIFIED || t.getDtype() == DType.UNRECOGNIZED) {
      throw new TensorFormatException("tensor dtype is unspecified or unknown");
    }
    long n = elementCount(shape(t));
    long expected = n * bytesPerElement(t.getDtype());
    if (t.getData().size() != expected) {
      throw new TensorFormatException(
          "tensor data has "
              + t.getData().size()
              + " bytes but shape "
              + Arrays.toString(shape(t))
              + " of "
              + t.getDtype()
              + " needs "
              + expected);
    }
    if (t.getDtype() == DType.DTYPE_INT8 && !(t.getScale() > 0 && Float.isFinite(t.getScale()))) {
      throw new TensorFormatException(
          "int8 tensor needs a finite positive scale, got " + t.getScale());
    }
  }

  /** Decodes to a new float array (validating first). */
  public static float[] decode(Tensor t) {
    validate(t);
    float[] out = new float[(int) elementCount(shape(t))];
    decodeInto(t, out, 0);
    return out;
  }

  /** Decodes into {@code out} at {@code offset} (validating first); returns elements written. */
  public static int decodeInto(Tensor t, float[] out, int offset) {
    validate(t);
    ByteBuffer buf = t.getData().asReadOnlyByteBuffer().order(java.nio.ByteOrder.LITTLE_ENDIAN);
    int n = (int) elementCount(shape(t));
    switch (t.getDtype()) {
      case DTYPE_F32 -> {
        for (int i = 0; i < n; i++) {
          out[offset + i] = buf.getFloat();
        }
      }
      case DTYPE_F16 -> {
        for (int i = 0; i < n; i++) {
          out[offset + i] = HalfFloats.fromF16(buf.getShort());
        }
      }
      case DTYPE_BF16 -> {
        for (int i = 0; i < n; i++) {
          out[offset + i] = HalfFloats.fromBf16(buf.getShort());
        }
      }
      case DTYPE_INT8 -> {
        float scale = t.getScale();
        for (int i = 0; i < n; i++) {
          out[offset + i] = buf.get() * scale;
        }
      }
      default -> throw new TensorFormatException("unsupported dtype " + t.getDtype());
    }
    return n;
  }

  /** Index of the first non-finite value, or -1. */
  public static int firstNonFinite(float[] values) {
    for (int i = 0; i < values.length; i++) {
      if (!Float.isFinite(values[i])) {
        return i;
      }
    }
    return -1;
  }
}
