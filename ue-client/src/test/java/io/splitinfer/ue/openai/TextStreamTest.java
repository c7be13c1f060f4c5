package io.splitinfer.ue.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class TextStreamTest {
  @Test
  void holdsBackAPartialStopUntilItCannotMatch() {
    TextStream t = new TextStream(null, List.of("END"));
    assertEquals("ab", t.add(0, "ab"));
    assertEquals("", t.add(0, "E"));
    assertEquals("", t.add(0, "N"));
    assertEquals("ENx", t.add(0, "x"));
    assertFalse(t.stopped());
    assertEquals("y", t.add(0, "yEN"));
    assertEquals("", t.add(0, "Dz"));
    assertTrue(t.stopped());
    assertEquals("abENxy", t.text());
    assertEquals("", t.finish());
  }

  @Test
  void finishFlushesHeldText() {
    TextStream t = new TextStream(null, List.of("END"));
    assertEquals("a", t.add(0, "aEN"));
    assertEquals("EN", t.finish());
  }

  @Test
  void decodesGrowingPrefixesAndHoldsAnIncompleteCharacter() {
    // ids 1, 2 form one character; alone id 1 decodes to U+FFFD.
    TextStream t =
        new TextStream(ids -> ids.length == 1 ? "\uFFFD" : ids.length == 2 ? "é" : "é!", List.of());
    assertEquals("", t.add(1, "?"));
    assertEquals("é", t.add(2, "?"));
    assertEquals("!", t.add(3, "!"));
  }
}
