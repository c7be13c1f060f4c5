package io.splitinfer.model.onnx;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Merges the parts of contiguous layers {@code from..to} into one graph, so that a run of the range
 * is one ONNX Runtime call instead of one per layer (see {@link FusedRanges}).
 *
 * <p>I/O of the merged graph: {@code hidden}, {@code positions} and {@code past_length} as in a
 * layer part (shared by every layer), {@code past_key.l / past_value.l} per layer l -> {@code
 * hidden_out} (of layer {@code to}) and {@code key.l / value.l} per layer. Layer l's {@code
 * hidden_out} feeds layer l+1's {@code hidden}; every other name of layer l gets the prefix {@code
 * L<l>/}. Initializers with identical type, dims and bytes (the RoPE frequencies, the rotate_half
 * matrix, shape constants) are kept once, so ONNX Runtime's common-subexpression elimination
 * computes the RoPE tables, masks and shapes that depend only on the shared inputs once per call
 * instead of once per layer. The shape of every layer's cache buffer is read from the first layer's
 * ({@code past_key.from}): a merged range is run only when all its layers' buffers have the same
 * capacity C (the engine checks; they do unless a cache was truncated and refilled), so the masks
 * of the past slots are computed once too. Every node and weight is otherwise the layer part's own,
 * so the merged graph computes what the layers compute one by one (tests compare them bit for bit).
 */
final class LayerFusion {
  private LayerFusion() {}

  /** Initializers up to this size are shared between layers when their contents are equal. */
  static final int SHARED_MAX_BYTES = 64 << 10;

  static String pastKey(int layer) {
    return LlamaGraphs.PAST_KEY + "." + layer;
  }

  static String pastValue(int layer) {
    return LlamaGraphs.PAST_VALUE + "." + layer;
  }

  static String key(int layer) {
    return LlamaGraphs.KEY + "." + layer;
  }

  static String value(int layer) {
    return LlamaGraphs.VALUE + "." + layer;
  }

  /**
   * Whether {@code part} can be merged: it is a layer part whose weights are all inside the file
   * (external data is resolved relative to a file; a merged graph is created from bytes).
   */
  static boolean mergeable(ModelProto part) {
    for (TensorProto t : part.getGraph().getInitializerList()) {
      if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
        return false;
      }
    }
    return true;
  }

  /**
   * A part's graph with its weights left in place: the file is memory-mapped and the initializers'
   * bytes alias the mapping (protobuf aliasing), so merging a range costs almost no Java heap (a UE
   * runs with a small fixed heap).
   */
  static ModelProto read(Path part) throws IOException {
    try (FileChannel ch = FileChannel.open(part, StandardOpenOption.READ)) {
      MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size());
      CodedInputStream in = CodedInputStream.newInstance(map);
      in.enableAliasing(true);
      in.setSizeLimit(Integer.MAX_VALUE);
      return ModelProto.parseFrom(in);
    }
  }

  /** The merged model serialized into a direct buffer (for {@code createSession(ByteBuffer)}). */
  static ByteBuffer serialize(ModelProto m) throws IOException {
    int size = m.getSerializedSize();
    ByteBuffer buf = ByteBuffer.allocateDirect(size);
    CodedOutputStream out = CodedOutputStream.newInstance(buf);
    m.writeTo(out);
    out.flush();
    buf.position(0);
    buf.limit(size);
    return buf;
  }

  /** The merged graph of {@code parts} (layers from, from+1, …, in order). */
  static ModelProto merge(List<ModelProto> parts, int from) {
    int to = from + parts.size() - 1;
    GraphProto.Builder g = GraphProto.newBuilder().setName("layers_" + from + "_" + to);
    Map<ByteString, String> initializerByContent = new HashMap<>();
    Map<String, Long> opsets = new LinkedHashMap<>();
    ModelProto first = parts.get(0);
    for (int i = 0; i < parts.size(); i++) {
      int l = from + i;
      ModelProto part = parts.get(i);
      if (!mergeable(part)) {
        throw new IllegalArgumentException("layer " + l + " keeps its weights in external data");
      }
      for (OperatorSetIdProto o : part.getOpsetImportList()) {
        opsets.merge(o.getDomain(), o.getVersion(), Math::max);
      }
      GraphProto pg = part.getGraph();
      Map<String, String> rename = new HashMap<>();
      for (TensorProto t : pg.getInitializerList()) {
        // only small initializers (constants, RoPE tables) are compared: weights are never equal
        ByteString content = t.getSerializedSize() <= SHARED_MAX_BYTES ? contentKey(t) : null;
        String kept = content == null ? null : initializerByContent.get(content);
        if (kept != null) {
          rename.put(t.getName(), kept);
        } else {
          String name = "L" + l + "/" + t.getName();
          if (content != null) {
            initializerByContent.put(content, name);
          }
          rename.put(t.getName(), name);
          g.addInitializer(t.toBuilder().setName(name));
        }
      }
      for (NodeProto n : pg.getNodeList()) {
        NodeProto.Builder b = n.toBuilder().clearInput().clearOutput();
        b.setName("L" + l + "/" + n.getName());
        boolean capacity =
            n.getOpType().equals("Shape")
                && (n.getInput(0).equals(LlamaGraphs.PAST_KEY)
                    || n.getInput(0).equals(LlamaGraphs.PAST_VALUE));
        for (String in : n.getInputList()) {
          // the cache capacity C is read from the first layer's buffer (all equal, see class doc)
          b.addInput(capacity ? pastKey(from) : name(in, l, from, to, rename));
        }
        for (String out : n.getOutputList()) {
          b.addOutput(name(out, l, from, to, rename));
        }
        g.addNode(b);
      }
      for (ValueInfoProto v : pg.getInputList()) {
        String n = v.getName();
        boolean shared = n.equals(LlamaGraphs.POSITIONS) || n.equals(LlamaGraphs.PAST_LENGTH);
        boolean hidden = n.equals(LlamaGraphs.HIDDEN);
        if ((!shared && !hidden) || (l == from && (shared || hidden))) {
          g.addInput(v.toBuilder().setName(name(n, l, from, to, rename)));
        }
      }
      for (ValueInfoProto v : pg.getOutputList()) {
        String n = v.getName();
        if (!n.equals(LlamaGraphs.HIDDEN_OUT) || l == to) {
          g.addOutput(v.toBuilder().setName(name(n, l, from, to, rename)));
        }
      }
    }
    ModelProto.Builder m =
        ModelProto.newBuilder()
            .setIrVersion(first.getIrVersion())
            .setProducerName(first.getProducerName())
            .setProducerVersion(first.getProducerVersion())
            .setDocString("decoder layers " + from + ".." + to + " merged from their parts");
    opsets.forEach(
        (domain, version) ->
            m.addOpsetImport(
                OperatorSetIdProto.newBuilder().setDomain(domain).setVersion(version)));
    return m.setGraph(g).build();
  }

  /** Type, dims and data of an initializer (its identity for sharing). */
  private static ByteString contentKey(TensorProto t) {
    return t.toBuilder().clearName().clearDocString().build().toByteString();
  }

  private static String name(String n, int l, int from, int to, Map<String, String> rename) {
    if (n.isEmpty()) {
      return n;
    }
    String r = rename.get(n);
    if (r != null) {
      return r;
    }
    return switch (n) {
      case LlamaGraphs.POSITIONS, LlamaGraphs.PAST_LENGTH -> n;
      case LlamaGraphs.HIDDEN -> l == from ? n : "L" + (l - 1) + "/" + LlamaGraphs.HIDDEN_OUT;
      case LlamaGraphs.HIDDEN_OUT -> l == to ? n : "L" + l + "/" + LlamaGraphs.HIDDEN_OUT;
      case LlamaGraphs.PAST_KEY -> pastKey(l);
      case LlamaGraphs.PAST_VALUE -> pastValue(l);
      case LlamaGraphs.KEY -> key(l);
      case LlamaGraphs.VALUE -> value(l);
      default -> "L" + l + "/" + n;
    };
  }
}
