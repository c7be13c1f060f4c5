package io.splitinfer.model.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.splitinfer.model.TestModels;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HfTokenizerTest {
  @TempDir Path dir;

  @Test
  void roundTripsTextWithoutSpecialTokens() throws Exception {
    TestModels.writeByteTokenizer(dir);
    try (TextTokenizer t = HfTokenizer.open(dir, 265)) {
      String text = "the thin one in the Union, 1790 — naïve\nsecond line";
      int[] ids = t.encode(text);
      assertEquals(text, t.decode(ids));
      // " the" is one merged token (id 261), "the" at the start is "the" (260)
      assertArrayEquals(new int[] {260, 261}, t.encode("the the"));
      assertEquals(" the", t.piece(261));
      assertEquals("a", t.piece(3 + 'a'));
      // special tokens are neither added nor kept on decode
      assertEquals(0, t.encode("").length);
      assertEquals("ab", t.decode(new int[] {1, 3 + 'a', 2, 3 + 'b'}));
      assertThrows(IllegalArgumentException.class, () -> t.decode(new int[] {999}));
    }
  }
}
