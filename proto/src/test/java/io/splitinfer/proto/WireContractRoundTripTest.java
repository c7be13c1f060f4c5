package io.splitinfer.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.DynamicMessage;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import io.splitinfer.proto.v1.ChannelProto;
import io.splitinfer.proto.v1.ControllerProto;
import io.splitinfer.proto.v1.DataPlaneProto;
import io.splitinfer.proto.v1.TensorProto;
import io.splitinfer.proto.v1.UeMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every message of the contract survives serialization with every field set. */
class WireContractRoundTripTest {

  static Stream<Descriptor> allMessages() {
    List<Descriptor> out = new ArrayList<>();
    for (FileDescriptor f :
        List.of(
            TensorProto.getDescriptor(),
            DataPlaneProto.getDescriptor(),
            ControllerProto.getDescriptor(),
            ChannelProto.getDescriptor())) {
      for (Descriptor d : f.getMessageTypes()) {
        out.add(d);
        out.addAll(d.getNestedTypes());
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("allMessages")
  void everyMessageRoundTripsWithAllFieldsSet(Descriptor type) throws Exception {
    Message m = populate(type, new Random(type.getFullName().hashCode()), 0);
    byte[] bytes = m.toByteArray();
    DynamicMessage back = DynamicMessage.parseFrom(type, bytes);
    assertEquals(m, back);
    for (FieldDescriptor f : type.getFields()) {
      if (f.getRealContainingOneof() == null) {
        assertFalse(
            !f.isRepeated() && !back.hasField(f) && f.hasPresence(), f.getFullName() + " lost");
      }
    }
  }

  @Test
  void garbageBytesAreRefusedByTheParser() {
    byte[] garbage = {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x0f};
    assertThrows(InvalidProtocolBufferException.class, () -> UeMessage.parseFrom(garbage));
  }

  private static Message populate(Descriptor type, Random rnd, int depth) {
    DynamicMessage.Builder b = DynamicMessage.newBuilder(type);
    java.util.Set<String> oneofsDone = new java.util.HashSet<>();
    for (FieldDescriptor f : type.getFields()) {
      if (f.getRealContainingOneof() != null
          && !oneofsDone.add(f.getRealContainingOneof().getName())) {
        continue;
      }
      if (f.getJavaType() == FieldDescriptor.JavaType.MESSAGE && depth > 3) {
        continue;
      }
      Object v = value(f, rnd, depth);
      if (f.isRepeated()) {
        b.addRepeatedField(f, v);
        b.addRepeatedField(f, value(f, rnd, depth));
      } else {
        b.setField(f, v);
      }
    }
    return b.build();
  }

  private static Object value(FieldDescriptor f, Random rnd, int depth) {
    return switch (f.getJavaType()) {
      case INT -> rnd.nextInt(1000) + 1;
      case LONG -> (long) rnd.nextInt(1_000_000) + 1;
      case FLOAT -> rnd.nextFloat() + 0.5f;
      case DOUBLE -> rnd.nextDouble() + 0.5;
      case BOOLEAN -> true;
      case STRING -> "s" + rnd.nextInt(1000);
      case BYTE_STRING -> ByteString.copyFrom(new byte[] {1, 2, 3});
      case ENUM -> f.getEnumType().getValues().get(f.getEnumType().getValues().size() - 1);
      case MESSAGE -> populate(f.getMessageType(), rnd, depth + 1);
    };
  }
}
