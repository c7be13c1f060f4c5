package io.splitinfer.model.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.FloatBuffer;
import org.junit.jupiter.api.Test;

class DirectInputsTest {
  @Test
  void buffersAreDirectFilledAndReused() {
    DirectInputs in = new DirectInputs();
    float[] src = {1, 2, 3, 4, 5};
    FloatBuffer a = in.take(src, 3);
    assertTrue(a.isDirect());
    assertEquals(0, a.position());
    assertEquals(3, a.limit());
    assertEquals(3f, a.get(2));
    in.give(a);
    // a smaller or equal request reuses it; 100 prefill-sized runs allocate once
    for (int i = 0; i < 100; i++) {
      FloatBuffer b = in.take(src, 4);
      assertSame(a, b);
      assertEquals(4, b.limit());
      assertEquals(4f, b.get(3));
      in.give(b);
    }
    assertEquals(1, in.allocated());
    // two concurrent runs hold two buffers; a larger request allocates a larger one
    FloatBuffer x = in.take(src, 2);
    FloatBuffer y = in.take(new float[1000], 1000);
    assertTrue(y.capacity() >= 1000);
    assertEquals(2, in.allocated());
    in.give(x);
    in.give(y);
    assertSame(y, in.take(new float[600], 600));
  }

  @Test
  void aBufferInUseIsNeverHandedOutAgainEvenWhenAnotherHoldsTheSameValues() {
    // FloatBuffer.equals compares contents: taking a buffer out of the pool by equality removed
    // another buffer holding the same values and left the taken one in the pool, so the next run
    // (two sessions at the same position of the same prompt) got the same buffer while the first
    // still used it, and one session computed on the other's hidden state.
    DirectInputs in = new DirectInputs();
    float[] small = new float[200];
    float[] large = new float[300];
    java.util.Arrays.fill(small, 0.5f);
    FloatBuffer x = in.take(large, 300); // capacity 512
    in.give(x);
    FloatBuffer y = in.take(small, 200); // x again, now holding 200 values
    FloatBuffer z = in.take(small, 200); // a new one of capacity 256 with the same 200 values
    assertSame(x, y);
    assertTrue(z.capacity() < 300 && z.equals(y), "two buffers, equal contents");
    in.give(y);
    in.give(z);
    FloatBuffer first = in.take(large, 300);
    FloatBuffer second = in.take(large, 300);
    assertSame(x, first);
    assertNotSame(first, second, "the buffer in use was handed out twice");
  }

  @Test
  void concurrentTakersNeverShareABuffer() throws Exception {
    DirectInputs in = new DirectInputs();
    float[] same = new float[256];
    java.util.Arrays.fill(same, 1f);
    java.util.Set<FloatBuffer> held =
        java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    java.util.concurrent.atomic.AtomicInteger shared =
        new java.util.concurrent.atomic.AtomicInteger();
    Thread[] ts = new Thread[4];
    for (int t = 0; t < ts.length; t++) {
      ts[t] =
          new Thread(
              () -> {
                for (int i = 0; i < 20_000; i++) {
                  FloatBuffer b = in.take(same, 1 + (i % 2) * 255);
                  synchronized (held) {
                    if (!held.add(b)) {
                      shared.incrementAndGet();
                    }
                  }
                  synchronized (held) {
                    held.remove(b);
                  }
                  in.give(b);
                }
              });
      ts[t].start();
    }
    for (Thread t : ts) {
      t.join();
    }
    assertEquals(0, shared.get(), "a buffer was held by two runs at once");
  }
}
