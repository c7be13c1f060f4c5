package io.splitinfer.edge;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.UnknownFieldSet;
import io.grpc.MethodDescriptor;
import io.grpc.ServerMethodDefinition;
import io.grpc.ServerServiceDefinition;
import io.grpc.ServiceDescriptor;
import io.grpc.protobuf.ProtoUtils;
import io.splitinfer.proto.v1.SplitInferenceGrpc;
import io.splitinfer.proto.v1.UeMessage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Parses UeMessages without letting a malformed one become gRPC's generic "Application error"
 * (UNKNOWN): bytes that are not a UeMessage become a marker message that the session refuses with
 * INVALID_ARGUMENT and counts as "unparseable".
 */
final class LenientSessionMarshaller implements MethodDescriptor.Marshaller<UeMessage> {
  /** Field number (outside the schema) that marks an unparseable message; carries the error. */
  static final int MARKER_FIELD = 536_870_000;

  private final MethodDescriptor.Marshaller<UeMessage> delegate =
      ProtoUtils.marshaller(UeMessage.getDefaultInstance());

  @Override
  public InputStream stream(UeMessage value) {
    return delegate.stream(value);
  }

  @Override
  public UeMessage parse(InputStream stream) {
    byte[] bytes;
    try {
      bytes = stream.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    try {
      return UeMessage.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      String why = String.valueOf(e.getMessage());
      return UeMessage.newBuilder()
          .setUnknownFields(
              UnknownFieldSet.newBuilder()
                  .addField(
                      MARKER_FIELD,
                      UnknownFieldSet.Field.newBuilder()
                          .addLengthDelimited(ByteString.copyFrom(why, StandardCharsets.UTF_8))
                          .build())
                  .build())
          .build();
    }
  }

  /** The parse error carried by a marker message, or null for a real message. */
  static String parseError(UeMessage m) {
    if (m.getKindCase() != UeMessage.KindCase.KIND_NOT_SET
        || !m.getUnknownFields().hasField(MARKER_FIELD)) {
      return null;
    }
    List<ByteString> v = m.getUnknownFields().getField(MARKER_FIELD).getLengthDelimitedList();
    return v.isEmpty() ? "" : v.get(0).toStringUtf8();
  }

  /** {@code def} with the Session method's request marshaller replaced by this one. */
  @SuppressWarnings("unchecked")
  static ServerServiceDefinition apply(ServerServiceDefinition def) {
    ServiceDescriptor sd = def.getServiceDescriptor();
    ServiceDescriptor.Builder sdb =
        ServiceDescriptor.newBuilder(sd.getName()).setSchemaDescriptor(sd.getSchemaDescriptor());
    List<ServerMethodDefinition<?, ?>> methods = new ArrayList<>();
    for (ServerMethodDefinition<?, ?> m : def.getMethods()) {
      if (m.getMethodDescriptor()
          .getFullMethodName()
          .equals(SplitInferenceGrpc.getSessionMethod().getFullMethodName())) {
        var session = (ServerMethodDefinition<UeMessage, Object>) m;
        m =
            ServerMethodDefinition.create(
                session.getMethodDescriptor().toBuilder(
                        new LenientSessionMarshaller(),
                        session.getMethodDescriptor().getResponseMarshaller())
                    .build(),
                session.getServerCallHandler());
      }
      sdb.addMethod(m.getMethodDescriptor());
      methods.add(m);
    }
    ServerServiceDefinition.Builder b = ServerServiceDefinition.builder(sdb.build());
    methods.forEach(b::addMethod);
    return b.build();
  }
}
