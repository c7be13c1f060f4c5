package io.splitinfer.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.splitinfer.model.TestModels;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PieceCacheTest {
  @TempDir Path dir;

  @Test
  void givesTheTokenizersPiecesDecodingEachIdOnce() throws Exception {
    TestModels.writeByteTokenizer(dir);
    try (TextTokenizer real = HfTokenizer.open(dir, 265)) {
      AtomicInteger decodes = new AtomicInteger();
      TextTokenizer counting =
          new TextTokenizer() {
            @Override
            public int[] encode(String text) {
              return real.encode(text);
            }

            @Override
            public String decode(int[] ids) {
              decodes.incrementAndGet();
              return real.decode(ids);
            }

            @Override
            public int vocabSize() {
              return real.vocabSize();
            }

            @Override
            public void close() {}
          };
      PieceCache cache = new PieceCache(counting);
      for (int id = 0; id < real.vocabSize(); id++) {
        assertEquals(real.piece(id), cache.apply(id), "id " + id);
      }
      int once = decodes.get();
      assertEquals(real.vocabSize(), once);
      String the = cache.apply(261);
      assertSame(the, cache.apply(261));
      assertEquals(once, decodes.get(), "cached ids are not decoded again");
      // outside the vocabulary: the tokenizer's own answer, every time
      assertThrows(IllegalArgumentException.class, () -> cache.apply(999));
      assertThrows(IllegalArgumentException.class, () -> cache.apply(-1));
    }
  }
}
