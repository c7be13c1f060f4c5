package io.splitinfer.model.onnx;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.nio.ByteBuffer;

/**
 * Frees a direct buffer's native memory at once ({@code sun.misc.Unsafe.invokeCleaner}, module
 * jdk.unsupported, as Netty does). Where that is unavailable the buffer is left to the GC.
 */
final class DirectMemory {
  private static final Object UNSAFE;
  private static final Method INVOKE_CLEANER;

  static {
    Object unsafe = null;
    Method clean = null;
    try {
      Class<?> c = Class.forName("sun.misc.Unsafe");
      Field f = c.getDeclaredField("theUnsafe");
      f.setAccessible(true);
      unsafe = f.get(null);
      clean = c.getMethod("invokeCleaner", ByteBuffer.class);
    } catch (ReflectiveOperationException | RuntimeException e) {
      unsafe = null;
      clean = null;
    }
    UNSAFE = unsafe;
    INVOKE_CLEANER = clean;
  }

  private DirectMemory() {}

  /** Frees {@code b} (a direct buffer no longer referenced anywhere else). */
  static void free(ByteBuffer b) {
    if (INVOKE_CLEANER == null || !b.isDirect()) {
      return;
    }
    try {
      INVOKE_CLEANER.invoke(UNSAFE, b);
    } catch (ReflectiveOperationException | RuntimeException e) {
      // left to the GC
    }
  }
}
