package io.splitinfer.model.onnx;

/**
 * ONNX Runtime settings of an {@link OnnxEngine}.
 *
 * @param cuda try the CUDA execution provider (falls back to CPU with one log line)
 * @param intraOpThreads threads inside one operator (0: ONNX Runtime's default)
 * @param interOpThreads threads across operators (0: default)
 * @param preload create every part's session at open (otherwise on first use, then reused)
 * @param spinning let idle ONNX Runtime worker threads spin (lower latency on an idle machine, much
 *     worse on a loaded one)
 */
public record OnnxOptions(
    boolean cuda, int intraOpThreads, int interOpThreads, boolean preload, boolean spinning) {
  public OnnxOptions {
    if (intraOpThreads < 0 || interOpThreads < 0) {
      throw new IllegalArgumentException("thread counts must be >= 0");
    }
  }

  /** CPU, default thread counts, sessions created on first use. */
  public static OnnxOptions defaults() {
    return new OnnxOptions(false, 0, 0, false, false);
  }

  public OnnxOptions withCuda(boolean on) {
    return new OnnxOptions(on, intraOpThreads, interOpThreads, preload, spinning);
  }

  public OnnxOptions withThreads(int intra, int inter) {
    return new OnnxOptions(cuda, intra, inter, preload, spinning);
  }

  public OnnxOptions withPreload(boolean on) {
    return new OnnxOptions(cuda, intraOpThreads, interOpThreads, on, spinning);
  }

  public OnnxOptions withSpinning(boolean on) {
    return new OnnxOptions(cuda, intraOpThreads, interOpThreads, preload, on);
  }
}
