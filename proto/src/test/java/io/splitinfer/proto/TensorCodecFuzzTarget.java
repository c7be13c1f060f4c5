package io.splitinfer.proto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.splitinfer.proto.v1.ByteOrder;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.Tensor;

/**
 * Coverage-guided fuzzing (Jazzer) of the tensor codec, the first thing that touches every number a
 * peer sends. Properties, for any input:
 *
 * <ul>
 *   <li>the only exception the codec throws is {@link TensorFormatException} (the receivers map it
 *       to INVALID_ARGUMENT); anything else is a finding;
 *   <li>an accepted tensor decodes to exactly {@code product(shape)} values, and never more than
 *       the data bytes can hold (no allocation beyond what the sender paid for on the wire);
 *   <li>an accepted F32 tensor re-encodes to the same bytes (bit-exact, NaN payloads included).
 * </ul>
 *
 * <p>{@code mvn -B verify} fuzzes it for 20 s ({@link TensorCodecQuickFuzzTest}, in the proto
 * module's {@code fuzz} surefire execution with {@code JAZZER_FUZZ=1}); {@code -Pheavy} fuzzes it
 * for 10 minutes ({@link TensorCodecLongFuzzTest}). In the ordinary test run the quick one replays
 * its inputs (regression mode).
 */
abstract class TensorCodecFuzzTarget {

  /** One fuzz input. */
  static void decodeAcceptsOrRefusesCleanly(FuzzedDataProvider data) {
    Tensor t;
    if (data.consumeBoolean()) {
      try {
        t = Tensor.parseFrom(data.consumeRemainingAsBytes());
      } catch (InvalidProtocolBufferException e) {
        return;
      }
    } else {
      Tensor.Builder b = Tensor.newBuilder();
      int dims = data.consumeInt(0, 5);
      for (int i = 0; i < dims; i++) {
        b.addShape(data.consumeBoolean() ? data.consumeLong(-2, 300) : data.consumeLong());
      }
      b.setDtypeValue(data.consumeInt(-1, 6));
      b.setByteOrderValue(data.consumeInt(0, 2));
      b.setScale(data.consumeFloat());
      b.setData(ByteString.copyFrom(data.consumeRemainingAsBytes()));
      t = b.build();
    }
    float[] values;
    try {
      values = TensorCodec.decode(t);
    } catch (TensorFormatException e) {
      assertTrue(e.getMessage() != null && !e.getMessage().isBlank(), "refusal needs a reason");
      return;
    }
    long n = TensorCodec.elementCount(TensorCodec.shape(t));
    assertEquals(n, values.length);
    assertTrue(
        (long) values.length * TensorCodec.bytesPerElement(t.getDtype()) <= t.getData().size(),
        "decoded more values than the data holds");
    assertEquals(ByteOrder.BYTE_ORDER_LITTLE_ENDIAN, t.getByteOrder());
    if (t.getDtype() == DType.DTYPE_F32) {
      long[] shape = TensorCodec.shape(t);
      Tensor again = TensorCodec.encode(values, DType.DTYPE_F32, shape);
      assertArrayEquals(t.getData().toByteArray(), again.getData().toByteArray());
    }
  }
}
