package io.splitinfer.ue;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Prompt lookup: the token after the latest earlier match of the last 3, else 2, tokens. */
class LookupDrafterTest {
  @Test
  void longestLatestMatchWins() {
    // ... 7 8 9 | 4 ... 8 9 | 5 ... 7 8 9  -> trigram 7 8 9 matched at the start: 4
    int[] seq = {7, 8, 9, 4, 1, 8, 9, 5, 2, 7, 8, 9};
    assertEquals(4, LookupDrafter.lookup(seq, seq.length));
    // bigram only: ... 8 9 5 ... 3 8 9 -> the latest "8 9" is followed by 5
    int[] bi = {7, 8, 9, 4, 1, 8, 9, 5, 2, 3, 8, 9};
    assertEquals(5, LookupDrafter.lookup(bi, bi.length));
  }

  @Test
  void noMatchOrTooShortGivesNone() {
    assertEquals(-1, LookupDrafter.lookup(new int[] {1, 2, 3, 4, 5}, 5));
    assertEquals(-1, LookupDrafter.lookup(new int[] {1, 1}, 2));
    // only the first len entries count
    assertEquals(-1, LookupDrafter.lookup(new int[] {1, 2, 9, 1, 2, 0}, 4));
  }
}
