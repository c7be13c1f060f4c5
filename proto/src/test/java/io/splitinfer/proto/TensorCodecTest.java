package io.splitinfer.proto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.splitinfer.core.numeric.HalfFloats;
import io.splitinfer.proto.v1.ByteOrder;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.Tensor;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class TensorCodecTest {

  @ParameterizedTest
  @EnumSource(
      value = DType.class,
      names = {"DTYPE_F32", "DTYPE_F16", "DTYPE_BF16", "DTYPE_INT8"})
  void roundTripWithinDtypePrecision(DType dtype) throws Exception {
    Random rnd = new Random(7);
    float[] v = new float[3 * 64];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) rnd.nextGaussian() * 3f;
    }
    Tensor t = TensorCodec.encode(v, dtype, 3, 64);
    assertEquals(v.length * TensorCodec.bytesPerElement(dtype), t.getData().size());
    Tensor parsed = Tensor.parseFrom(t.toByteArray());
    float[] back = TensorCodec.decode(parsed);
    float maxAbs = 0;
    for (float x : v) {
      maxAbs = Math.max(maxAbs, Math.abs(x));
    }
    for (int i = 0; i < v.length; i++) {
      float tol =
          switch (dtype) {
            case DTYPE_F32 -> 0f;
            case DTYPE_F16 -> Math.abs(v[i]) * 0x1p-11f + 1e-7f;
            case DTYPE_BF16 -> Math.abs(v[i]) * 0x1p-8f;
            default -> maxAbs / 127f / 2f + 1e-6f;
          };
      assertEquals(v[i], back[i], tol, "element " + i + " of " + dtype);
    }
  }

  @Test
  void littleEndianLayoutIsExplicit() {
    Tensor t = TensorCodec.encode(new float[] {1.0f}, DType.DTYPE_F32);
    // 1.0f = 0x3f800000, little-endian bytes 00 00 80 3f
    assertArrayEquals(new byte[] {0, 0, (byte) 0x80, 0x3f}, t.getData().toByteArray());
    Tensor h = TensorCodec.encode(new float[] {1.0f}, DType.DTYPE_F16);
    assertArrayEquals(new byte[] {0, 0x3c}, h.getData().toByteArray());
    Tensor b = TensorCodec.encode(new float[] {1.0f}, DType.DTYPE_BF16);
    assertArrayEquals(new byte[] {(byte) 0x80, 0x3f}, b.getData().toByteArray());
  }

  @Test
  void emptyShapeIsAScalarAndZeroDimIsEmpty() {
    Tensor scalar = TensorCodec.encode(new float[] {2.5f}, DType.DTYPE_F32);
    assertEquals(0, scalar.getShapeCount());
    assertArrayEquals(new float[] {2.5f}, TensorCodec.decode(scalar));
    Tensor empty = TensorCodec.encode(new float[0], DType.DTYPE_F16, 0, 256);
    assertEquals(0, empty.getData().size());
    assertEquals(0, TensorCodec.decode(empty).length);
  }

  @ParameterizedTest
  @EnumSource(
      value = DType.class,
      names = {"DTYPE_F32", "DTYPE_F16", "DTYPE_BF16"})
  void nanInfinityAndSignedZeroSurvive(DType dtype) {
    float[] v = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, -0.0f, 0.0f};
    float[] back = TensorCodec.decode(TensorCodec.encode(v, dtype, 5));
    assertTrue(Float.isNaN(back[0]));
    assertEquals(Float.POSITIVE_INFINITY, back[1]);
    assertEquals(Float.NEGATIVE_INFINITY, back[2]);
    assertEquals(Float.floatToIntBits(-0.0f), Float.floatToIntBits(back[3]));
    assertEquals(0, TensorCodec.firstNonFinite(new float[] {Float.NaN}));
    assertEquals(-1, TensorCodec.firstNonFinite(new float[] {1f, 2f}));
  }

  @Test
  void int8RefusesNonFinite() {
    assertThrows(
        TensorFormatException.class,
        () -> TensorCodec.encode(new float[] {Float.NaN}, DType.DTYPE_INT8, 1));
  }

  @Test
  void f16EdgeValues() {
    assertEquals(65504f, HalfFloats.fromF16(HalfFloats.toF16(65504f)));
    assertEquals(Float.POSITIVE_INFINITY, HalfFloats.fromF16(HalfFloats.toF16(70000f)));
    float smallest = 0x1p-24f;
    assertEquals(smallest, HalfFloats.fromF16(HalfFloats.toF16(smallest)));
    assertEquals(0f, HalfFloats.fromF16(HalfFloats.toF16(0x1p-26f)));
    // every binary16 value round-trips exactly through float
    for (int h = 0; h < 0x10000; h++) {
      float f = HalfFloats.fromF16((short) h);
      if (!Float.isNaN(f)) {
        assertEquals((short) h, HalfFloats.toF16(f), "half bits " + Integer.toHexString(h));
      }
    }
  }

  @Test
  void largestAllowedShapeIsAcceptedAndLargerRefused() {
    long[] maxShape = {1L << 14, 1L << 14};
    assertEquals(TensorCodec.MAX_ELEMENTS, TensorCodec.elementCount(maxShape));
    assertThrows(TensorFormatException.class, () -> TensorCodec.elementCount(1L << 28, 2));
    assertThrows(TensorFormatException.class, () -> TensorCodec.elementCount(Long.MAX_VALUE, 4));
    // found by TensorCodecQuickFuzzTest: a small dimension first, then one that overflows a long
    // (was an ArithmeticException, i.e. INTERNAL at the edge instead of INVALID_ARGUMENT)
    assertThrows(TensorFormatException.class, () -> TensorCodec.elementCount(2, Long.MAX_VALUE));
    assertThrows(TensorFormatException.class, () -> TensorCodec.elementCount(3, 1L << 62));
  }

  @Test
  void malformedTensorsAreRefusedWithClearMessages() {
    Tensor good = TensorCodec.encode(new float[] {1, 2, 3, 4}, DType.DTYPE_F32, 2, 2);
    var shortData = good.toBuilder().setData(ByteString.copyFrom(new byte[15])).build();
    var ex = assertThrows(TensorFormatException.class, () -> TensorCodec.decode(shortData));
    assertTrue(ex.getMessage().contains("15 bytes"), ex.getMessage());
    var noDtype = good.toBuilder().setDtype(DType.DTYPE_UNSPECIFIED).build();
    assertThrows(TensorFormatException.class, () -> TensorCodec.decode(noDtype));
    var bigEndian = good.toBuilder().setByteOrder(ByteOrder.BYTE_ORDER_BIG_ENDIAN).build();
    assertThrows(TensorFormatException.class, () -> TensorCodec.decode(bigEndian));
    var negative = good.toBuilder().setShape(0, -2).build();
    assertThrows(TensorFormatException.class, () -> TensorCodec.decode(negative));
    var int8NoScale =
        Tensor.newBuilder()
            .setDtype(DType.DTYPE_INT8)
            .addShape(1)
            .setData(ByteString.copyFrom(new byte[1]))
            .build();
    assertThrows(TensorFormatException.class, () -> TensorCodec.decode(int8NoScale));
  }
}
