package io.splitinfer.model.onnx;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Reused direct buffers for the float inputs of a run (the hidden state going into a layer or the
 * head).
 *
 * <p><b>Why.</b> ONNX Runtime's Java API reads a direct, native-order buffer in place, but copies a
 * heap buffer ({@code FloatBuffer.wrap(float[])}) into a <em>new</em> direct buffer on every {@code
 * createTensor}. Closing the tensor does not free that copy; only a garbage collection of the
 * buffer object does, and a UE's heap sees little garbage, so the copies pile up in native memory:
 * one per layer and prefill chunk (a 1,024-token prompt through 11 TinyLlama-shape layers in chunks
 * of 64 made 176 copies of 512 KB, 88 MB). Here a run takes a buffer, fills it, builds its tensor
 * on it and gives it back after closing the tensor. Buffers have power-of-two capacities; at most
 * {@value #MAX_POOLED} are kept (one per concurrent run in practice), so what stays is bounded by
 * the concurrency times the largest chunk.
 *
 * <p>Thread-safe.
 */
final class DirectInputs {
  static final int MAX_POOLED = 16;

  /** Idle buffers, most recently given first; guarded by itself. */
  private final ArrayDeque<FloatBuffer> free = new ArrayDeque<>();

  private final AtomicInteger allocated = new AtomicInteger();

  /** A direct buffer holding {@code src[0, n)}, positioned at 0 with limit n. */
  FloatBuffer take(float[] src, int n) {
    FloatBuffer b = null;
    // Removed by position, never by equals: FloatBuffer.equals compares contents, so removing
    // "the first buffer equal to c" could take out another idle buffer holding the same values
    // and leave c in the pool while a run uses it (DirectInputsTest).
    synchronized (free) {
      for (Iterator<FloatBuffer> it = free.iterator(); it.hasNext(); ) {
        FloatBuffer c = it.next();
        if (c.capacity() >= n) {
          it.remove();
          b = c;
          break;
        }
      }
    }
    if (b == null) {
      int cap = Integer.highestOneBit(Math.max(1, n - 1)) << 1;
      b =
          ByteBuffer.allocateDirect(cap * Float.BYTES)
              .order(ByteOrder.nativeOrder())
              .asFloatBuffer();
      allocated.incrementAndGet();
    }
    b.clear();
    b.put(src, 0, n);
    b.flip();
    return b;
  }

  /** Returns {@code b} once the tensor built on it is closed. */
  void give(FloatBuffer b) {
    synchronized (free) {
      if (free.size() < MAX_POOLED) {
        free.push(b);
      }
    }
  }

  /** Buffers allocated so far (tests). */
  int allocated() {
    return allocated.get();
  }
}
