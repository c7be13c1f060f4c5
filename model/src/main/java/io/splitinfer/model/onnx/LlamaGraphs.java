package io.splitinfer.model.onnx;

import static io.splitinfer.model.onnx.GraphBuilder.attr;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.splitinfer.model.checkpoint.Checkpoint;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.engine.ModelConfig;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The ONNX graphs of a Llama model cut into parts: embedding, one graph per decoder layer, head.
 * Computation is float32 throughout; matrix weights are stored as a {@link WeightFormat}: f32, f16
 * (Cast after load) or block-quantized int8/int4 (MatMulNBits).
 *
 * <p>Layer part I/O: {@code hidden [T, d]}, {@code past_key / past_value [kvH, P, hd]}, {@code
 * positions [T] int64} -> {@code hidden_out [T, d]}, {@code present_key / present_value [kvH, P+T,
 * hd]} and the new entries alone {@code key / value [kvH, T, hd]} (keys after RoPE). The causal
 * mask lets new token i (the (P+i)-th) see keys 0..P+i, so prefill (P = 0), decode (T = 1) and
 * chunked prefill (T > 1, P > 0) all work.
 */
public final class LlamaGraphs {
  public static final String IDS = "ids";
  public static final String EMBEDDINGS = "embeddings";
  public static final String HIDDEN = "hidden";
  public static final String PAST_KEY = "past_key";
  public static final String PAST_VALUE = "past_value";
  public static final String POSITIONS = "positions";
  public static final String HIDDEN_OUT = "hidden_out";
  public static final String PRESENT_KEY = "present_key";
  public static final String PRESENT_VALUE = "present_value";
  public static final String KEY = "key";
  public static final String VALUE = "value";
  public static final String LOGITS = "logits";

  private static final int FLOAT = TensorProto.DataType.FLOAT_VALUE;
  private static final int INT64 = TensorProto.DataType.INT64_VALUE;

  private LlamaGraphs() {}

  /** ids [T] int64 -> embeddings [T, d]. */
  public static ModelProto embed(
      ModelConfig c, float[] table, WeightFormat format, Path dataFile, long externalThreshold)
      throws IOException {
    try (GraphBuilder g = new GraphBuilder("embed", dataFile, externalThreshold)) {
      g.input(IDS, INT64, "T");
      if (format.quantized()) {
        // int8 rows, one scale per row: embeddings = float(codes[ids]) * scales[ids]
        BlockQuantizer.RowInt8 q =
            BlockQuantizer.quantizeRows(table, c.vocabSize(), c.hiddenSize());
        String codes =
            g.storedBytes(
                "embed_tokens_i8",
                q.codes(),
                TensorProto.DataType.INT8_VALUE,
                c.vocabSize(),
                c.hiddenSize());
        String scales = g.weight("embed_scales", q.scales(), DType.F32, c.vocabSize(), 1);
        String rows =
            g.op(
                "Cast",
                new String[] {g.op("Gather", new String[] {codes, IDS}, attr("axis", 0L))},
                attr("to", (long) FLOAT));
        String s = g.op("Gather", new String[] {scales, IDS}, attr("axis", 0L));
        g.opInto(EMBEDDINGS, "Mul", new String[] {rows, s});
      } else if (format.floatDType() == DType.F32) {
        String w = g.storedWeight("embed_tokens", table, DType.F32, c.vocabSize(), c.hiddenSize());
        g.opInto(EMBEDDINGS, "Gather", new String[] {w, IDS}, attr("axis", 0L));
      } else {
        String w = g.storedWeight("embed_tokens", table, DType.F16, c.vocabSize(), c.hiddenSize());
        String gathered = g.op("Gather", new String[] {w, IDS}, attr("axis", 0L));
        g.opInto(EMBEDDINGS, "Cast", new String[] {gathered}, attr("to", (long) FLOAT));
      }
      g.output(EMBEDDINGS, FLOAT, "T", c.hiddenSize());
      return g.build("embedding (" + format + ")");
    }
  }

  /** hidden [T, d] -> logits [T, vocab] (final RMSNorm + LM head). */
  public static ModelProto head(
      ModelConfig c,
      float[] norm,
      float[] lmHead,
      WeightFormat format,
      Path dataFile,
      long threshold)
      throws IOException {
    try (GraphBuilder g = new GraphBuilder("head", dataFile, threshold)) {
      g.input(HIDDEN, FLOAT, "T", c.hiddenSize());
      String h = rmsNorm(g, HIDDEN, g.weight("norm", norm, DType.F32, c.hiddenSize()), c);
      String y = g.linear(h, "lm_head", lmHead, c.vocabSize(), c.hiddenSize(), format.headFormat());
      g.opInto(LOGITS, "Identity", new String[] {y});
      g.output(LOGITS, FLOAT, "T", c.vocabSize());
      return g.build("final RMSNorm + LM head (" + format.headFormat() + ")");
    }
  }

  /** One decoder layer with KV-cache inputs and outputs. */
  public static ModelProto layer(
      ModelConfig c,
      int layer,
      Checkpoint.LayerWeights w,
      WeightFormat fmt,
      Path dataFile,
      long threshold)
      throws IOException {
    int d = c.hiddenSize();
    int hd = c.headDim();
    int nh = c.numHeads();
    int kvh = c.numKvHeads();
    int rep = c.groupSize();
    int f = c.intermediateSize();
    try (GraphBuilder g = new GraphBuilder("layer_" + layer, dataFile, threshold)) {
      g.input(HIDDEN, FLOAT, "T", d);
      g.input(PAST_KEY, FLOAT, kvh, "P", hd);
      g.input(PAST_VALUE, FLOAT, kvh, "P", hd);
      g.input(POSITIONS, INT64, "T");

      String h = rmsNorm(g, HIDDEN, g.weight("input_norm", w.inputNorm(), DType.F32, d), c);
      String q = g.linear(h, "q", w.q(), c.qDim(), d, fmt);
      String k = g.linear(h, "k", w.k(), c.kvDim(), d, fmt);
      String v = g.linear(h, "v", w.v(), c.kvDim(), d, fmt);
      // [T, heads*hd] -> [heads, T, hd]
      String perm = "perm";
      String q3 =
          g.op(
              "Transpose",
              new String[] {g.op("Reshape", q, g.constLongs(-1, nh, hd))},
              attr(perm, 1L, 0L, 2L));
      String k3 =
          g.op(
              "Transpose",
              new String[] {g.op("Reshape", k, g.constLongs(-1, kvh, hd))},
              attr(perm, 1L, 0L, 2L));
      String v3 =
          g.op(
              "Transpose",
              new String[] {g.op("Reshape", v, g.constLongs(-1, kvh, hd))},
              attr(perm, 1L, 0L, 2L));

      // RoPE: freqs[t, i] = float(pos_t) * inv_freq[i]; emb = [freqs, freqs]
      float[] inv = c.ropeScaling().inverseFrequencies(c.ropeTheta(), hd);
      String invFreq = g.weight("inv_freq", inv, DType.F32, 1, hd / 2);
      String pos =
          g.op(
              "Unsqueeze",
              g.op("Cast", new String[] {POSITIONS}, attr("to", (long) FLOAT)),
              g.constLongs(1));
      String freqs = g.op("Mul", pos, invFreq);
      String emb = g.op("Concat", new String[] {freqs, freqs}, attr("axis", -1L));
      String cos = g.op("Cos", emb);
      String sin = g.op("Sin", emb);
      String qr = rope(g, q3, cos, sin, hd);
      String kr = rope(g, k3, cos, sin, hd);
      g.opInto(KEY, "Identity", new String[] {kr});
      g.opInto(VALUE, "Identity", new String[] {v3});
      g.opInto(PRESENT_KEY, "Concat", new String[] {PAST_KEY, kr}, attr("axis", 1L));
      g.opInto(PRESENT_VALUE, "Concat", new String[] {PAST_VALUE, v3}, attr("axis", 1L));

      // dynamic sizes: T (new tokens) and S = P + T (all keys)
      String tDim = g.op("Slice", g.op("Shape", HIDDEN), g.constLongs(0), g.constLongs(1));
      String sDim = g.op("Slice", g.op("Shape", PRESENT_KEY), g.constLongs(1), g.constLongs(2));
      // grouped-query attention: [nh, T, hd] -> [kvh, rep*T, hd]; query head h uses kv head h/rep
      String qg = g.op("Reshape", qr, g.constLongs(kvh, -1, hd));
      String kt = g.op("Transpose", new String[] {PRESENT_KEY}, attr(perm, 0L, 2L, 1L));
      String scores = g.op("Div", g.op("MatMul", qg, kt), g.constScalar((float) Math.sqrt(hd)));
      String shape4 =
          g.op("Concat", new String[] {g.constLongs(kvh, rep), tDim, sDim}, attr("axis", 0L));
      String s4 = g.op("Reshape", scores, shape4);
      // causal mask [T, S]: key j visible to new token i iff j <= S - T + i
      String sScalar = g.op("Squeeze", sDim, g.constLongs(0));
      String tScalar = g.op("Squeeze", tDim, g.constLongs(0));
      String zero = g.constLongScalar(0);
      String one = g.constLongScalar(1);
      String kIdx = g.op("Range", zero, sScalar, one);
      String qIdx = g.op("Range", g.op("Sub", sScalar, tScalar), sScalar, one);
      String allowed =
          g.op(
              "LessOrEqual",
              g.op("Unsqueeze", kIdx, g.constLongs(0)),
              g.op("Unsqueeze", qIdx, g.constLongs(1)));
      String masked = g.op("Where", allowed, s4, g.constScalar(-Float.MAX_VALUE));
      String probs = g.op("Softmax", new String[] {masked}, attr("axis", -1L));
      String shape3 = g.op("Concat", new String[] {g.constLongs(kvh, -1), sDim}, attr("axis", 0L));
      String ctx = g.op("MatMul", g.op("Reshape", probs, shape3), PRESENT_VALUE);
      // [kvh, rep*T, hd] -> [nh, T, hd] -> [T, nh, hd] -> [T, nh*hd]
      String ctxHeads = g.op("Reshape", ctx, g.constLongs(nh, -1, hd));
      String ctxT = g.op("Transpose", new String[] {ctxHeads}, attr(perm, 1L, 0L, 2L));
      String ctx2 = g.op("Reshape", ctxT, g.constLongs(-1, c.qDim()));
      String o = g.linear(ctx2, "o", w.o(), d, c.qDim(), fmt);
      String x1 = g.op("Add", HIDDEN, o);

      String h2 = rmsNorm(g, x1, g.weight("post_norm", w.postNorm(), DType.F32, d), c);
      String gate = g.linear(h2, "gate", w.gate(), f, d, fmt);
      String up = g.linear(h2, "up", w.up(), f, d, fmt);
      String act = g.op("Mul", g.op("Mul", gate, g.op("Sigmoid", gate)), up);
      String down = g.linear(act, "down", w.down(), d, f, fmt);
      g.opInto(HIDDEN_OUT, "Add", new String[] {x1, down});

      g.output(HIDDEN_OUT, FLOAT, "T", d);
      g.output(PRESENT_KEY, FLOAT, kvh, "S", hd);
      g.output(PRESENT_VALUE, FLOAT, kvh, "S", hd);
      g.output(KEY, FLOAT, kvh, "T", hd);
      g.output(VALUE, FLOAT, kvh, "T", hd);
      return g.build("decoder layer " + layer + " (" + fmt + ")");
    }
  }

  /** x [.., hd] -> x * cos + rotate_half(x) * sin. */
  private static String rope(GraphBuilder g, String x, String cos, String sin, int hd) {
    int half = hd / 2;
    String axis = g.constLongs(-1);
    String x1 = g.op("Slice", x, g.constLongs(0), g.constLongs(half), axis);
    String x2 = g.op("Slice", x, g.constLongs(half), g.constLongs(hd), axis);
    String rot = g.op("Concat", new String[] {g.op("Neg", x2), x1}, attr("axis", -1L));
    return g.op("Add", g.op("Mul", x, cos), g.op("Mul", rot, sin));
  }

  /** x * 1/sqrt(mean(x^2) + eps) * w, in float32. */
  private static String rmsNorm(GraphBuilder g, String x, String weight, ModelConfig c) {
    String ms =
        g.op(
            "ReduceMean",
            new String[] {g.op("Mul", x, x)},
            new AttributeProto[] {attr("axes", new long[] {-1L}), attr("keepdims", 1L)});
    String r =
        g.op("Reciprocal", g.op("Sqrt", g.op("Add", ms, g.constScalar((float) c.rmsNormEps()))));
    return g.op("Mul", weight, g.op("Mul", x, r));
  }

  /** [rows, cols] -> [cols, rows]. */
  static float[] transpose(float[] m, int rows, int cols) {
    float[] t = new float[m.length];
    int block = 64;
    for (int r0 = 0; r0 < rows; r0 += block) {
      for (int c0 = 0; c0 < cols; c0 += block) {
        int r1 = Math.min(rows, r0 + block);
        int c1 = Math.min(cols, c0 + block);
        for (int r = r0; r < r1; r++) {
          for (int cc = c0; cc < c1; cc++) {
            t[cc * rows + r] = m[r * cols + cc];
          }
        }
      }
    }
    return t;
  }
}
