package io.splitinfer.model.onnx;

import static io.splitinfer.model.onnx.GraphBuilder.attr;

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
 * <p>Layer part I/O (part format {@value OnnxConverter#PART_FORMAT_REVISION}): B sessions of n new
 * rows each, session-major: {@code hidden [T = B*n, d]}, the cache buffers {@code past_key /
 * past_value [B, kvH, C, hd]} of which the first {@code past_length[b]} (int64 [B]) entries of
 * session b are valid, {@code positions [T] int64} -> {@code hidden_out [T, d]} and the new entries
 * {@code key / value [B, kvH, n, hd]} (keys after RoPE). Row i of session b (its (P_b+i)-th
 * position) sees that session's P_b cached keys and its new keys 0..i, so prefill (P = 0), decode
 * (n = 1), chunked prefill (n > 1, P > 0) and a batch of decode steps of B sessions (n = 1, each
 * its own P_b, padded to a common C and masked) all run through the same graph. With B = 1 the
 * engine passes its KV buffers as they are ([1, kvH, C, hd] is the buffer [kvH, C, hd]; no
 * O(context) copy per token) and appends the returned entries. Parts of format parts-2 ({@code
 * past_key [kvH, C, hd]}, {@code past_length [1]}) and older ones (exact {@code past_key [kvH, P,
 * hd]}, no {@code past_length}) still run in {@link OnnxEngine}, one session per call.
 */
public final class LlamaGraphs {
  public static final String IDS = "ids";
  public static final String EMBEDDINGS = "embeddings";
  public static final String HIDDEN = "hidden";
  public static final String PAST_KEY = "past_key";
  public static final String PAST_VALUE = "past_value";
  public static final String POSITIONS = "positions";
  public static final String PAST_LENGTH = "past_length";
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

  /**
   * One decoder layer with KV-cache inputs and outputs. Few nodes (at d = 256 and one new row the
   * cost of a layer is mostly ONNX Runtime's per-node overhead, see model/README.md "Where decode
   * time goes"): RMSNorm as {@code SimplifiedLayerNormalization}, the residual add and the second
   * norm as one {@code SkipSimplifiedLayerNormalization}, Q, K and V as one projection, RoPE on the
   * query and key heads together, rotate_half as a product with a fixed signed permutation, and the
   * dims B and T read from the shared inputs {@code past_length} and {@code positions} (so the RoPE
   * and shape nodes of several layers fused into one graph are computed once).
   */
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
      g.input(PAST_KEY, FLOAT, "B", kvh, "C", hd);
      g.input(PAST_VALUE, FLOAT, "B", kvh, "C", hd);
      g.input(PAST_LENGTH, INT64, "B");
      g.input(POSITIONS, INT64, "T");

      String h = rmsNorm(g, HIDDEN, g.weight("input_norm", w.inputNorm(), DType.F32, d), c);
      // one projection for q, k, v: [T, (nh + 2 kvh) * hd], heads in that order
      int heads3 = nh + 2 * kvh;
      float[] wqkv = w.qkv();
      String qkv = g.linear(h, "qkv", wqkv, heads3 * hd, d, fmt);
      String tDim = g.op("Shape", POSITIONS);
      String bDim = g.op("Shape", PAST_LENGTH);
      String cDim = g.op("Slice", g.op("Shape", PAST_KEY), g.constLongs(2), g.constLongs(3));
      String nDim = g.op("Div", tDim, bDim);
      String perm = "perm";
      // rows are session-major: [T, heads3*hd] -> [B, n, heads3, hd] -> [B, heads3, n, hd]
      String qkv4 =
          g.op(
              "Transpose",
              new String[] {g.op("Reshape", qkv, dims(g, bDim, -1, heads3, hd))},
              attr(perm, 0L, 2L, 1L, 3L));
      String headAxis = g.constLongs(1);
      String qk4 = g.op("Slice", qkv4, g.constLongs(0), g.constLongs(nh + kvh), headAxis);
      String v4 = VALUE;
      g.opInto(
          VALUE,
          "Slice",
          new String[] {qkv4, g.constLongs(nh + kvh), g.constLongs(heads3), headAxis});

      // RoPE: angle[t, i] = float(pos_t) * inv_freq[i mod hd/2] -> cos, sin [B, 1, n, hd]
      float[] inv = c.ropeScaling().inverseFrequencies(c.ropeTheta(), hd);
      float[] invFull = new float[hd];
      System.arraycopy(inv, 0, invFull, 0, hd / 2);
      System.arraycopy(inv, 0, invFull, hd / 2, hd / 2);
      String invFreq = g.weight("inv_freq", invFull, DType.F32, 1, hd);
      String pos =
          g.op(
              "Unsqueeze",
              g.op("Cast", new String[] {POSITIONS}, attr("to", (long) FLOAT)),
              g.constLongs(1));
      String emb = g.op("Mul", pos, invFreq);
      String rowShape = dims(g, bDim, 1, -1, hd);
      String cos = g.op("Reshape", g.op("Cos", emb), rowShape);
      String sin = g.op("Reshape", g.op("Sin", emb), rowShape);
      // x * cos + rotate_half(x) * sin, rotate_half(x) = x . R (exact: one +-1 per column)
      String rot = g.weight("rotate_half", rotateHalf(hd), DType.F32, hd, hd);
      String qkr = g.op("Add", g.op("Mul", qk4, cos), g.op("Mul", g.op("MatMul", qk4, rot), sin));
      String qr = g.op("Slice", qkr, g.constLongs(0), g.constLongs(nh), headAxis);
      String kr = KEY;
      g.opInto(
          KEY, "Slice", new String[] {qkr, g.constLongs(nh), g.constLongs(nh + kvh), headAxis});

      // Attention per session b over its cache buffer [kvh, C, hd] (read in place; entries >=
      // past_length[b] masked) and over its new entries [kvh, n, hd], without concatenating keys
      // or values: scores are [B, kvh, rep*n, C + n], probabilities split back into the two parts.
      String nScalar = g.op("Squeeze", nDim, g.constLongs(0));
      String cScalar = g.op("Squeeze", cDim, g.constLongs(0));
      String zero = g.constLongScalar(0);
      String one = g.constLongScalar(1);
      String scale = g.constScalar((float) Math.sqrt(hd));
      String minus = g.constScalar(-Float.MAX_VALUE);
      // grouped-query attention: [B, nh, n, hd] -> [B, kvh, rep*n, hd]; head h uses kv head h/rep
      String qg = g.op("Reshape", qr, dims(g, bDim, kvh, -1, hd));
      String sPast =
          g.op(
              "Div",
              g.op(
                  "MatMul",
                  qg,
                  g.op("Transpose", new String[] {PAST_KEY}, attr(perm, 0L, 1L, 3L, 2L))),
              scale);
      // cache slot j of session b is valid iff j < past_length[b]: [B, 1, 1, C]
      String validPast =
          g.op(
              "Less",
              g.op("Range", zero, cScalar, one),
              g.op("Reshape", PAST_LENGTH, g.constLongs(-1, 1, 1, 1)));
      // masks as additive terms (0 or -FLT_MAX; s + -FLT_MAX rounds to -FLT_MAX, so the scores
      // equal a Where's), built small and broadcast by Add
      String zeroF = g.constScalar(0f);
      String sPastM = g.op("Add", sPast, g.op("Where", validPast, zeroF, minus));
      String sNew =
          g.op(
              "Div",
              g.op("MatMul", qg, g.op("Transpose", new String[] {kr}, attr(perm, 0L, 1L, 3L, 2L))),
              scale);
      // causal among a session's new rows: score row r*n + i (group member r, row i) sees new key
      // j iff j <= i: the [n, n] mask tiled to [rep*n, n]; it depends on the shared inputs only
      String nIdx = g.op("Range", zero, nScalar, one);
      String causal =
          g.op(
              "LessOrEqual",
              g.op("Unsqueeze", nIdx, g.constLongs(0)),
              g.op("Unsqueeze", nIdx, g.constLongs(1)));
      String causalAdd = g.op("Tile", g.op("Where", causal, zeroF, minus), g.constLongs(rep, 1));
      String sNewM = g.op("Add", sNew, causalAdd);
      String probs =
          g.op(
              "Softmax",
              new String[] {g.op("Concat", new String[] {sPastM, sNewM}, attr("axis", -1L))},
              attr("axis", -1L));
      String axis = g.constLongs(-1);
      String pPast = g.op("Slice", probs, g.constLongs(0), cDim, axis);
      String pNew = g.op("Slice", probs, cDim, g.constLongs(Long.MAX_VALUE), axis);
      String ctx = g.op("Add", g.op("MatMul", pPast, PAST_VALUE), g.op("MatMul", pNew, v4));
      // [B, kvh, rep*n, hd] -> [B, nh, n, hd] -> [B, n, nh, hd] -> [T, nh*hd]
      String ctxHeads = g.op("Reshape", ctx, dims(g, bDim, nh, -1, hd));
      String ctxT = g.op("Transpose", new String[] {ctxHeads}, attr(perm, 0L, 2L, 1L, 3L));
      String ctx2 = g.op("Reshape", ctxT, g.constLongs(-1, c.qDim()));
      String o = g.linear(ctx2, "o", w.o(), d, c.qDim(), fmt);
      // x1 = hidden + o and h2 = RMSNorm(x1) in one node (outputs 0 and 3)
      String[] skip =
          g.msOpOutputs(
              "SkipSimplifiedLayerNormalization",
              new String[] {o, HIDDEN, g.weight("post_norm", w.postNorm(), DType.F32, d)},
              4,
              attr("epsilon", (float) c.rmsNormEps()));
      String h2 = skip[0];
      String x1 = skip[3];
      // gate and up as one projection [T, 2f], split in two
      String gateUp = g.linear(h2, "gate_up", w.gateUp(), 2 * f, d, fmt);
      String lastAxis = g.constLongs(-1);
      String gate = g.op("Slice", gateUp, g.constLongs(0), g.constLongs(f), lastAxis);
      String up = g.op("Slice", gateUp, g.constLongs(f), g.constLongs(2L * f), lastAxis);
      String act = g.op("Mul", g.op("Mul", gate, g.op("Sigmoid", gate)), up);
      String down = g.linear(act, "down", w.down(), d, f, fmt);
      g.opInto(HIDDEN_OUT, "Add", new String[] {x1, down});

      g.output(HIDDEN_OUT, FLOAT, "T", d);
      g.output(KEY, FLOAT, "B", kvh, "N", hd);
      g.output(VALUE, FLOAT, "B", kvh, "N", hd);
      return g.build("decoder layer " + layer + " (" + fmt + ")");
    }
  }

  /** R [hd, hd] with x . R = rotate_half(x) = [-x[half:], x[:half]]. */
  static float[] rotateHalf(int hd) {
    int half = hd / 2;
    float[] r = new float[hd * hd];
    for (int j = 0; j < half; j++) {
      r[(j + half) * hd + j] = -1f;
      r[j * hd + j + half] = 1f;
    }
    return r;
  }

  /** The shape [B, rest...] with B from the 1-element tensor {@code bDim}. */
  private static String dims(GraphBuilder g, String bDim, long... rest) {
    return g.op("Concat", new String[] {bDim, g.constLongs(rest)}, attr("axis", 0L));
  }

  /** x * 1/sqrt(mean(x^2) + eps) * w, in float32 (ONNX Runtime's SimplifiedLayerNormalization). */
  private static String rmsNorm(GraphBuilder g, String x, String weight, ModelConfig c) {
    return g.op(
        "SimplifiedLayerNormalization",
        new String[] {x, weight},
        attr("axis", -1L),
        attr("epsilon", (float) c.rmsNormEps()));
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
