package io.splitinfer.model.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.pkg.ModelPackage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ONNX Runtime session per part of a package (index 0 = embed, 1..L = layers, L+1 = head),
 * created on first use and reused; each session's declared dims are checked against the manifest
 * when it is created, and each layer part's format is recorded (KV read in place, batch axis).
 * Thread-safe.
 */
final class PartSessions implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(PartSessions.class);

  private final OrtEnvironment env;
  private final ModelPackage pkg;
  private final ModelConfig config;
  private final OrtSession.SessionOptions sessionOptions;
  private final AtomicReferenceArray<OrtSession> sessions;

  /** Per session index: a layer part that reads the KV buffers in place (has past_length). */
  private final boolean[] inPlaceKv;

  /** Per session index: a layer part with the batch axis on its KV (parts-3 and later). */
  private final boolean[] batchAxis;

  private volatile boolean closed;

  PartSessions(OrtEnvironment env, ModelPackage pkg, OrtSession.SessionOptions options) {
    this.env = env;
    this.pkg = pkg;
    this.config = pkg.config();
    this.sessionOptions = options;
    this.sessions = new AtomicReferenceArray<>(config.numLayers() + 2);
    this.inPlaceKv = new boolean[config.numLayers() + 2];
    this.batchAxis = new boolean[config.numLayers() + 2];
  }

  /** Whether layer l's part reads the KV buffers in place (its session is created first). */
  boolean inPlaceKv(int l) {
    get(l);
    return inPlaceKv[l];
  }

  /** Whether layer l's part has the batch axis on its KV (its session is created first). */
  boolean batchAxis(int l) {
    get(l);
    return batchAxis[l];
  }

  /** The sessions created so far. */
  List<OrtSession> open() {
    List<OrtSession> out = new ArrayList<>();
    for (int i = 0; i < sessions.length(); i++) {
      OrtSession s = sessions.get(i);
      if (s != null) {
        out.add(s);
      }
    }
    return out;
  }

  OrtSession get(int index) {
    if (closed) {
      throw new IllegalStateException("engine is closed");
    }
    OrtSession s = sessions.get(index);
    if (s != null) {
      return s;
    }
    synchronized (sessions) {
      s = sessions.get(index);
      if (s == null) {
        Path part =
            index == 0
                ? pkg.embedPart()
                : index == config.numLayers() + 1 ? pkg.headPart() : pkg.layerPart(index);
        try {
          s = env.createSession(part.toString(), sessionOptions);
        } catch (OrtException e) {
          throw new IllegalStateException("cannot load part " + part + ": " + e.getMessage(), e);
        }
        try {
          checkDims(index, part, s);
          inPlaceKv[index] = s.getInputInfo().containsKey(LlamaGraphs.PAST_LENGTH);
          batchAxis[index] = index > 0 && index <= config.numLayers() && kvRank(s) == 4;
        } catch (OrtException e) {
          closeQuietly(s);
          throw new IllegalStateException("cannot inspect part " + part + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
          closeQuietly(s);
          throw e;
        }
        sessions.set(index, s);
      }
      return s;
    }
  }

  private void checkDims(int index, Path part, OrtSession s) {
    int d = config.hiddenSize();
    try {
      Map<String, NodeInfo> in = s.getInputInfo();
      Map<String, NodeInfo> out = s.getOutputInfo();
      if (index == 0) {
        expect(part, in, LlamaGraphs.IDS, -1);
        expect(part, out, LlamaGraphs.EMBEDDINGS, -1, d);
      } else if (index == config.numLayers() + 1) {
        expect(part, in, LlamaGraphs.HIDDEN, -1, d);
        expect(part, out, LlamaGraphs.LOGITS, -1, config.vocabSize());
      } else {
        int kv = config.numKvHeads();
        int hd = config.headDim();
        long[] kvDims = kvRank(s) == 4 ? new long[] {-1, kv, -1, hd} : new long[] {kv, -1, hd};
        expect(part, in, LlamaGraphs.HIDDEN, -1, d);
        expect(part, in, LlamaGraphs.PAST_KEY, kvDims);
        expect(part, in, LlamaGraphs.PAST_VALUE, kvDims);
        expect(part, in, LlamaGraphs.POSITIONS, -1);
        expect(part, out, LlamaGraphs.HIDDEN_OUT, -1, d);
        expect(part, out, LlamaGraphs.KEY, kvDims);
        expect(part, out, LlamaGraphs.VALUE, kvDims);
      }
    } catch (OrtException e) {
      throw new IllegalStateException("cannot inspect part " + part + ": " + e.getMessage(), e);
    }
  }

  /** Rank of a layer part's past_key input (3: one session per call, 4: batch axis). */
  private static int kvRank(OrtSession s) throws OrtException {
    NodeInfo n = s.getInputInfo().get(LlamaGraphs.PAST_KEY);
    return n != null && n.getInfo() instanceof TensorInfo t ? t.getShape().length : -1;
  }

  private void expect(Path part, Map<String, NodeInfo> io, String name, long... dims) {
    NodeInfo n = io.get(name);
    if (n == null || !(n.getInfo() instanceof TensorInfo t)) {
      throw new IllegalStateException(
          "part "
              + part.getFileName()
              + " has no tensor '"
              + name
              + "': not a part of this"
              + " model package format");
    }
    long[] shape = t.getShape();
    if (!Arrays.equals(shape, dims)) {
      throw new IllegalStateException(
          "part "
              + part.getFileName()
              + ": '"
              + name
              + "' has dims "
              + Arrays.toString(shape)
              + " but the manifest implies "
              + Arrays.toString(dims)
              + " (hidden "
              + config.hiddenSize()
              + ", kv heads "
              + config.numKvHeads()
              + ", head dim "
              + config.headDim()
              + ", vocab "
              + config.vocabSize()
              + ")");
    }
  }

  @Override
  public void close() {
    closed = true;
    synchronized (sessions) {
      for (int i = 0; i < sessions.length(); i++) {
        OrtSession s = sessions.getAndSet(i, null);
        if (s != null) {
          closeQuietly(s);
        }
      }
    }
  }

  private static void closeQuietly(OrtSession s) {
    try {
      s.close();
    } catch (OrtException e) {
      LOG.debug("closing session: {}", e.getMessage());
    }
  }
}
