package io.splitinfer.model.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
