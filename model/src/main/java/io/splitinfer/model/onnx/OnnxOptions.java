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
 * @param prefillChunk a run of more tokens than this goes through the layers in chunks of this many
 *     (0: one call), so prefill intermediates (attention scores grow with T x S) stay bounded
 *     whatever the prompt length; chunking does not change the result
 * @param cpuArena ONNX Runtime's CPU memory arena. Off by default: the arena keeps its high-water
 *     mark for the life of each session (one per part) and, with shapes that change every call,
 *     grows in steps it never returns; without it each run allocates and frees through malloc.
 *     Memory-pattern planning is off in either case (it caches one plan per input shape, and every
 *     decode step has a new past length)
 * @param fuseMaxBytes a run of several contiguous layers goes through one merged graph of those
 *     layers (one ONNX Runtime call instead of one per layer, see {@link FusedRanges}) when their
 *     parts hold at most this many bytes; 0: never. A merged graph holds its own copy of the
 *     range's weights (ONNX Runtime pre-packs weights per session), hence the bound
 * @param profilePrefix ONNX Runtime's profiler on: every session writes a JSON trace whose name
 *     starts with this prefix, flushed by {@link OnnxEngine#endProfiling()}; null: off
 */
public record OnnxOptions(
    boolean cuda,
    int intraOpThreads,
    int interOpThreads,
    boolean preload,
    boolean spinning,
    int prefillChunk,
    boolean cpuArena,
    long fuseMaxBytes,
    String profilePrefix) {
  /** Default bound on the weights of a merged range of layers (bytes of their parts). */
  public static final long DEFAULT_FUSE_MAX_BYTES = 256L << 20;

  /** Default prefill chunk (tokens). */
  public static final int DEFAULT_PREFILL_CHUNK = 128;

  public OnnxOptions {
    if (intraOpThreads < 0 || interOpThreads < 0) {
      throw new IllegalArgumentException("thread counts must be >= 0");
    }
    if (fuseMaxBytes < 0) {
      throw new IllegalArgumentException("fuse bound must be >= 0 (0: never merge layers)");
    }
    if (prefillChunk < 0) {
      throw new IllegalArgumentException("prefill chunk must be >= 0 (0: no chunking)");
    }
  }

  /** The options without the memory settings (prefill chunk 128, no arena). */
  public OnnxOptions(
      boolean cuda, int intraOpThreads, int interOpThreads, boolean preload, boolean spinning) {
    this(
        cuda,
        intraOpThreads,
        interOpThreads,
        preload,
        spinning,
        DEFAULT_PREFILL_CHUNK,
        false,
        DEFAULT_FUSE_MAX_BYTES,
        null);
  }

  /**
   * CPU, default thread counts, sessions created on first use, prefill chunk 128, no arena, layer
   * ranges of up to 256 MB merged.
   */
  public static OnnxOptions defaults() {
    return new OnnxOptions(false, 0, 0, false, false);
  }

  public OnnxOptions withCuda(boolean on) {
    return new OnnxOptions(
        on,
        intraOpThreads,
        interOpThreads,
        preload,
        spinning,
        prefillChunk,
        cpuArena,
        fuseMaxBytes,
        profilePrefix);
  }

  public OnnxOptions withThreads(int intra, int inter) {
    return new OnnxOptions(
        cuda, intra, inter, preload, spinning, prefillChunk, cpuArena, fuseMaxBytes, profilePrefix);
  }

  public OnnxOptions withPreload(boolean on) {
    return new OnnxOptions(
        cuda,
        intraOpThreads,
        interOpThreads,
        on,
        spinning,
        prefillChunk,
        cpuArena,
        fuseMaxBytes,
        profilePrefix);
  }

  public OnnxOptions withSpinning(boolean on) {
    return new OnnxOptions(
        cuda,
        intraOpThreads,
        interOpThreads,
        preload,
        on,
        prefillChunk,
        cpuArena,
        fuseMaxBytes,
        profilePrefix);
  }

  public OnnxOptions withPrefillChunk(int tokens) {
    return new OnnxOptions(
        cuda,
        intraOpThreads,
        interOpThreads,
        preload,
        spinning,
        tokens,
        cpuArena,
        fuseMaxBytes,
        profilePrefix);
  }

  public OnnxOptions withFuseMaxBytes(long bytes) {
    return new OnnxOptions(
        cuda,
        intraOpThreads,
        interOpThreads,
        preload,
        spinning,
        prefillChunk,
        cpuArena,
        bytes,
        profilePrefix);
  }

  public OnnxOptions withProfiling(String prefix) {
    return new OnnxOptions(
        cuda,
        intraOpThreads,
        interOpThreads,
        preload,
        spinning,
        prefillChunk,
        cpuArena,
        fuseMaxBytes,
        prefix);
  }

  public OnnxOptions withCpuArena(boolean on) {
    return new OnnxOptions(
        cuda,
        intraOpThreads,
        interOpThreads,
        preload,
        spinning,
        prefillChunk,
        on,
        fuseMaxBytes,
        profilePrefix);
  }
}
