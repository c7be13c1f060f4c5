package io.splitinfer.model.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class RowPoolTest {
  @Test
  void everyRowRunsExactlyOnceEvenWithCallersRacingForThePool() throws Exception {
    try (RowPool pool = new RowPool(3)) {
      ExecutorService callers = Executors.newFixedThreadPool(4);
      try {
        List<Future<?>> fs = new ArrayList<>();
        for (int c = 0; c < 4; c++) {
          fs.add(
              callers.submit(
                  () -> {
                    for (int round = 0; round < 2_000; round++) {
                      int total = 1 + round % 97;
                      AtomicIntegerArray hits = new AtomicIntegerArray(total);
                      pool.forRange(
                          total,
                          1 + round % 5,
                          (a, b) -> {
                            for (int i = a; i < b; i++) {
                              hits.incrementAndGet(i);
                            }
                          });
                      for (int i = 0; i < total; i++) {
                        assertEquals(1, hits.get(i), "round " + round + " row " + i);
                      }
                    }
                    return null;
                  }));
        }
        for (Future<?> f : fs) {
          f.get();
        }
      } finally {
        callers.shutdownNow();
      }
    }
  }

  @Test
  void aFailingChunkFailsTheCallAndThePoolKeepsWorking() {
    try (RowPool pool = new RowPool(2)) {
      IllegalStateException e =
          assertThrows(
              IllegalStateException.class,
              () ->
                  pool.forRange(
                      64,
                      4,
                      (a, b) -> {
                        if (a == 32) {
                          throw new IllegalStateException("chunk 32");
                        }
                      }));
      assertEquals("chunk 32", e.getMessage());
      int[] sum = new int[1];
      pool.forRange(10, 100, (a, b) -> sum[0] += b - a);
      assertEquals(10, sum[0]);
    }
    assertThrows(IllegalArgumentException.class, () -> new RowPool(0));
  }
}
