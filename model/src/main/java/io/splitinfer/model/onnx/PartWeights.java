package io.splitinfer.model.onnx;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.splitinfer.model.checkpoint.DType;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * The float weights of one package part, read back from its ONNX initializers (f32 or f16, inline
 * or in external data), for engines other than ONNX Runtime. Projections come back in Hugging Face
 * [out, in] layout: the parts store them transposed for MatMul ({@code GraphBuilder.linear}).
 */
public final class PartWeights {
  private final Map<String, TensorProto> tensors = new HashMap<>();
  private final Path part;

  private PartWeights(Path part, ModelProto model) {
    this.part = part;
    for (TensorProto t : model.getGraph().getInitializerList()) {
      tensors.put(t.getName(), t);
    }
  }

  /** Reads a part's graph (memory-mapped; weights are decoded on request). */
  public static PartWeights read(Path part) throws IOException {
    return new PartWeights(part, LayerFusion.read(part));
  }

  /** A float initializer as stored ([out] or [rows, cols] row-major). */
  public float[] floats(String name) throws IOException {
    TensorProto t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException(
          part.getFileName()
              + " has no float weight '"
              + name
              + "' (quantized parts cannot be read as floats; convert with --weights f32 or f16)");
    }
    DType dtype =
        switch (t.getDataType()) {
          case TensorProto.DataType.FLOAT_VALUE -> DType.F32;
          case TensorProto.DataType.FLOAT16_VALUE -> DType.F16;
          default ->
              throw new IllegalArgumentException(
                  part.getFileName() + ": '" + name + "' is of ONNX type " + t.getDataType());
        };
    long n = 1;
    for (long d : t.getDimsList()) {
      n *= d;
    }
    ByteBuffer bytes = bytes(t).order(ByteOrder.LITTLE_ENDIAN);
    if (bytes.remaining() != n * dtype.bytes()) {
      throw new IllegalArgumentException(
          part.getFileName() + ": '" + name + "' holds " + bytes.remaining() + " bytes, not " + n);
    }
    float[] out = new float[(int) n];
    dtype.decode(bytes, out, 0, out.length);
    return out;
  }

  /** A projection stored as {@code name_t} [in, out], returned as [out, in]. */
  public float[] projection(String name, int out, int in) throws IOException {
    float[] t = floats(name + "_t");
    if (t.length != out * in) {
      throw new IllegalArgumentException(
          part.getFileName() + ": '" + name + "_t' has " + t.length + " floats, not " + out * in);
    }
    return LlamaGraphs.transpose(t, in, out);
  }

  private ByteBuffer bytes(TensorProto t) throws IOException {
    if (t.getDataLocation() != TensorProto.DataLocation.EXTERNAL) {
      return t.getRawData().asReadOnlyByteBuffer();
    }
    String location = null;
    long offset = 0;
    long length = -1;
    for (StringStringEntryProto e : t.getExternalDataList()) {
      switch (e.getKey()) {
        case "location" -> location = e.getValue();
        case "offset" -> offset = Long.parseLong(e.getValue());
        case "length" -> length = Long.parseLong(e.getValue());
        default -> {}
      }
    }
    if (location == null || length < 0 || length > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          part.getFileName() + ": bad external data of " + t.getName());
    }
    Path file = part.resolveSibling(location);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      ByteBuffer b = ByteBuffer.allocate((int) length);
      while (b.hasRemaining()) {
        if (ch.read(b, offset + b.position()) < 0) {
          throw new IOException(file + " ends before offset " + (offset + length));
        }
      }
      return b.flip();
    }
  }
}
