package io.splitinfer.model.onnx;

import ai.onnxruntime.OrtEnvironment;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The only way this project obtains ONNX Runtime's process-wide {@link OrtEnvironment}.
 *
 * <p>Why it exists: when ONNX Runtime creates its environment on Linux it gathers telemetry
 * metadata by matching regular expressions (libstdc++ {@code std::regex}, which recurses once per
 * character) against the process command line. With a command line of more than about 4 KB (for
 * example a long {@code --prompt}) that recursion overflows a normal 1 MB Java thread stack and the
 * whole JVM dies with SIGSEGV, without an error report. The documented switch, the environment
 * variable {@code ORT_DISABLE_TELEMETRY=1}, cannot be set from inside a running JVM. So the first
 * call creates the environment on a short-lived thread with a {@value #INIT_STACK_BYTES}-byte stack
 * (only reserved address space; it is released when the thread ends), which covers the largest
 * command line Linux accepts (2 MB of arguments). Later calls return ONNX Runtime's cached
 * environment.
 */
public final class OrtEnvironments {
  /** Stack of the initialising thread: 1 GiB of reserved address space. */
  static final long INIT_STACK_BYTES = 1L << 30;

  private OrtEnvironments() {}

  /** ONNX Runtime's environment, created safely on first use. */
  public static OrtEnvironment get() {
    AtomicReference<Object> result = new AtomicReference<>();
    Thread init =
        new Thread(
            null,
            () -> {
              try {
                result.set(OrtEnvironment.getEnvironment());
              } catch (RuntimeException | Error e) {
                result.set(e);
              }
            },
            "ort-environment-init",
            INIT_STACK_BYTES);
    init.start();
    boolean interrupted = false;
    while (true) {
      try {
        init.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
    Object r = result.get();
    if (r instanceof OrtEnvironment env) {
      return env;
    }
    if (r instanceof RuntimeException e) {
      throw e;
    }
    if (r instanceof Error e) {
      throw e;
    }
    throw new IllegalStateException("ONNX Runtime environment was not created");
  }
}
