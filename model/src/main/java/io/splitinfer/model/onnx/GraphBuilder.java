package io.splitinfer.model.onnx;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import io.splitinfer.model.checkpoint.DType;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Builds one ONNX graph (opset 17) with the generated protobuf classes. Large initializers can go
 * to an external data file next to the model ({@code <part>.onnx.data}).
 */
final class GraphBuilder implements AutoCloseable {
  static final int OPSET = 17;
  static final long IR_VERSION = 8;
  static final String MS_DOMAIN = "com.microsoft";
  private static final int UINT8 = TensorProto.DataType.UINT8_VALUE;

  private final GraphProto.Builder graph = GraphProto.newBuilder();
  private final String prefix;
  private final long externalThreshold;
  private final Path dataFile;
  private OutputStream dataOut;
  private long dataOffset;
  private int counter;
  private boolean usesMsDomain;

  /**
   * @param name graph name (also prefixes generated value names)
   * @param dataFile where initializers of at least {@code externalThreshold} bytes go (null: never)
   */
  GraphBuilder(String name, Path dataFile, long externalThreshold) {
    graph.setName(name);
    this.prefix = name;
    this.dataFile = dataFile;
    this.externalThreshold = dataFile == null ? Long.MAX_VALUE : externalThreshold;
  }

  private String fresh(String hint) {
    return hint + "_" + (counter++);
  }

  static TypeProto tensorType(int elemType, Object... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (Object d : dims) {
      var dim = TensorShapeProto.Dimension.newBuilder();
      if (d instanceof String s) {
        dim.setDimParam(s);
      } else {
        dim.setDimValue(((Number) d).longValue());
      }
      shape.addDim(dim);
    }
    return TypeProto.newBuilder()
        .setTensorType(TypeProto.Tensor.newBuilder().setElemType(elemType).setShape(shape))
        .build();
  }

  void input(String name, int elemType, Object... dims) {
    graph.addInput(ValueInfoProto.newBuilder().setName(name).setType(tensorType(elemType, dims)));
  }

  void output(String name, int elemType, Object... dims) {
    graph.addOutput(ValueInfoProto.newBuilder().setName(name).setType(tensorType(elemType, dims)));
  }

  /** Adds a node; returns its (first) output name. */
  String op(String opType, String[] inputs, AttributeProto... attrs) {
    String out = fresh(opType.toLowerCase(java.util.Locale.ROOT));
    opInto(out, opType, inputs, attrs);
    return out;
  }

  /** Adds a node writing to a given output name. */
  void opInto(String output, String opType, String[] inputs, AttributeProto... attrs) {
    NodeProto.Builder n = NodeProto.newBuilder().setOpType(opType).setName(fresh("n_" + opType));
    for (String i : inputs) {
      n.addInput(i);
    }
    n.addOutput(output);
    for (AttributeProto a : attrs) {
      n.addAttribute(a);
    }
    graph.addNode(n);
  }

  String op(String opType, String... inputs) {
    return op(opType, inputs, new AttributeProto[0]);
  }

  static AttributeProto attr(String name, long v) {
    return AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeProto.AttributeType.INT)
        .setI(v)
        .build();
  }

  static AttributeProto attr(String name, float v) {
    return AttributeProto.newBuilder()
        .setName(name)
        .setType(AttributeProto.AttributeType.FLOAT)
        .setF(v)
        .build();
  }

  static AttributeProto attr(String name, long... v) {
    AttributeProto.Builder a =
        AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
    for (long x : v) {
      a.addInts(x);
    }
    return a.build();
  }

  /** An int64 constant initializer (1-D). */
  String constLongs(long... v) {
    String name = fresh("c_i64");
    ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (long x : v) {
      b.putLong(x);
    }
    graph.addInitializer(
        TensorProto.newBuilder()
            .setName(name)
            .setDataType(TensorProto.DataType.INT64_VALUE)
            .addDims(v.length)
            .setRawData(ByteString.copyFrom(b.array())));
    return name;
  }

  /** A float32 scalar constant. */
  String constScalar(float v) {
    String name = fresh("c_f32");
    ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(v);
    graph.addInitializer(
        TensorProto.newBuilder()
            .setName(name)
            .setDataType(TensorProto.DataType.FLOAT_VALUE)
            .setRawData(ByteString.copyFrom(b.array())));
    return name;
  }

  /** An int64 scalar constant. */
  String constLongScalar(long v) {
    String name = fresh("c_i64s");
    ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v);
    graph.addInitializer(
        TensorProto.newBuilder()
            .setName(name)
            .setDataType(TensorProto.DataType.INT64_VALUE)
            .setRawData(ByteString.copyFrom(b.array())));
    return name;
  }

  /**
   * A weight initializer stored as {@code dtype} (F32 or F16); returns the name of a float32 value
   * (through a Cast node when stored as F16).
   */
  String weight(String name, float[] data, DType dtype, long... dims) throws IOException {
    String stored = storedWeight(name, data, dtype, dims);
    if (dtype == DType.F32) {
      return stored;
    }
    return op("Cast", new String[] {stored}, attr("to", TensorProto.DataType.FLOAT_VALUE));
  }

  /** A weight initializer as stored (no Cast). */
  String storedWeight(String name, float[] data, DType dtype, long... dims) throws IOException {
    if (dtype == DType.BF16) {
      throw new IllegalArgumentException("ONNX parts store f32 or f16 floats");
    }
    byte[] bytes = new byte[data.length * dtype.bytes()];
    dtype.encode(data, 0, data.length, ByteBuffer.wrap(bytes));
    return storedBytes(
        name,
        bytes,
        dtype == DType.F32 ? TensorProto.DataType.FLOAT_VALUE : TensorProto.DataType.FLOAT16_VALUE,
        dims);
  }

  /**
   * An initializer of raw little-endian bytes of ONNX type {@code dataType}; large ones go to the
   * external data file when one is set.
   */
  String storedBytes(String name, byte[] bytes, int dataType, long... dims) throws IOException {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(dataType);
    for (long d : dims) {
      t.addDims(d);
    }
    if (bytes.length >= externalThreshold) {
      if (dataOut == null) {
        dataOut = new java.io.BufferedOutputStream(Files.newOutputStream(dataFile), 1 << 20);
      }
      dataOut.write(bytes);
      t.setDataLocation(TensorProto.DataLocation.EXTERNAL);
      t.addExternalData(kv("location", dataFile.getFileName().toString()));
      t.addExternalData(kv("offset", Long.toString(dataOffset)));
      t.addExternalData(kv("length", Long.toString(bytes.length)));
      dataOffset += bytes.length;
    } else {
      t.setRawData(ByteString.copyFrom(bytes));
    }
    graph.addInitializer(t);
    return name;
  }

  /** Adds a node of ONNX Runtime's {@code com.microsoft} domain; returns its output name. */
  String msOp(String opType, String[] inputs, AttributeProto... attrs) {
    usesMsDomain = true;
    String out = fresh(opType.toLowerCase(java.util.Locale.ROOT));
    NodeProto.Builder n =
        NodeProto.newBuilder().setOpType(opType).setDomain(MS_DOMAIN).setName(fresh("n_" + opType));
    for (String i : inputs) {
      n.addInput(i);
    }
    n.addOutput(out);
    for (AttributeProto a : attrs) {
      n.addAttribute(a);
    }
    graph.addNode(n);
    return out;
  }

  /** A {@code com.microsoft} node with {@code outputs} outputs (all named); returns their names. */
  String[] msOpOutputs(String opType, String[] inputs, int outputs, AttributeProto... attrs) {
    usesMsDomain = true;
    NodeProto.Builder n =
        NodeProto.newBuilder().setOpType(opType).setDomain(MS_DOMAIN).setName(fresh("n_" + opType));
    for (String i : inputs) {
      n.addInput(i);
    }
    String[] out = new String[outputs];
    for (int i = 0; i < outputs; i++) {
      out[i] = fresh(opType.toLowerCase(java.util.Locale.ROOT));
      n.addOutput(out[i]);
    }
    for (AttributeProto a : attrs) {
      n.addAttribute(a);
    }
    graph.addNode(n);
    return out;
  }

  /**
   * {@code x [T, k] · wᵀ} for a weight {@code w [n, k]} (Hugging Face orientation) stored in {@code
   * format}: a MatMul against the transposed float weight, or MatMulNBits over the block-quantized
   * weight (see {@link BlockQuantizer}).
   */
  String linear(String x, String name, float[] w, int n, int k, WeightFormat format)
      throws IOException {
    if (!format.quantized()) {
      String wt = weight(name + "_t", LlamaGraphs.transpose(w, n, k), format.floatDType(), k, n);
      return op("MatMul", x, wt);
    }
    int bits = format.kind().bits();
    BlockQuantizer.Quantized q =
        BlockQuantizer.quantize(w, n, k, bits, format.groupSize(), format.symmetric());
    String b = storedBytes(name + "_q" + bits, q.packed(), UINT8, n, q.blocks(), q.blobBytes());
    ByteBuffer sb = ByteBuffer.allocate(q.scales().length * 4).order(ByteOrder.LITTLE_ENDIAN);
    sb.asFloatBuffer().put(q.scales());
    String scales =
        storedBytes(
            name + "_scales", sb.array(), TensorProto.DataType.FLOAT_VALUE, q.scales().length);
    String[] inputs =
        q.zeroPoints() == null
            ? new String[] {x, b, scales}
            : new String[] {
              x, b, scales, storedBytes(name + "_zp", q.zeroPoints(), UINT8, q.zeroPoints().length)
            };
    return msOp(
        "MatMulNBits",
        inputs,
        attr("K", (long) k),
        attr("N", (long) n),
        attr("bits", (long) bits),
        attr("block_size", (long) format.groupSize()),
        attr("accuracy_level", (long) format.accuracyLevel()));
  }

  private static StringStringEntryProto kv(String k, String v) {
    return StringStringEntryProto.newBuilder().setKey(k).setValue(v).build();
  }

  /** Whether any initializer went to the external data file. */
  boolean usedExternalData() {
    return dataOut != null;
  }

  ModelProto build(String docString) throws IOException {
    if (dataOut != null) {
      dataOut.close();
    }
    ModelProto.Builder m =
        ModelProto.newBuilder()
            .setIrVersion(IR_VERSION)
            .setProducerName("splitinfer-model")
            .setProducerVersion("1")
            .setDocString(docString)
            .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET));
    if (usesMsDomain) {
      m.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(MS_DOMAIN).setVersion(1));
    }
    return m.setGraph(graph).build();
  }

  String prefix() {
    return prefix;
  }

  @Override
  public void close() throws IOException {
    if (dataOut != null) {
      dataOut.close();
    }
  }
}
