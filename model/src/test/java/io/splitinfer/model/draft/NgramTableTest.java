package io.splitinfer.model.draft;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

class NgramTableTest {
  @Test
  void takesTheMostFrequentNextTokenOfTheLongestContextWithAnEntry() {
    // after "1 2": 3 twice, 4 once; after "5 2": 6 twice; after "2" alone: 3 (2x) ties 6 (2x) -> 3
    int[] a = {1, 2, 3, 1, 2, 3, 1, 2, 4, 5, 2, 6, 5, 2, 6, 7};
    NgramTable t = NgramTrainer.train(List.of(a), 8, 2, 2, "sha");
    assertEquals(3, t.next(new int[] {1, 2}, 2));
    assertEquals(6, t.next(new int[] {5, 2}, 2));
    assertEquals(3, t.next(new int[] {7, 2}, 2), "unseen '7 2': backs off to '2'");
    assertEquals(-1, t.next(new int[] {7}, 1), "7 was followed by nothing twice");
    assertEquals(-1, t.next(new int[] {}, 0));
    assertEquals(3, t.next(new int[] {9, 9, 1, 2, 0}, 4), "only seq[0, len) counts");
    assertEquals(
        2f / 3, t.share(new int[] {1, 2}, 2), 0.5f / 255, "3 in 2 of the 3 times after '1 2'");
    assertEquals(1f, t.share(new int[] {5, 2}, 2), 0f);
    assertEquals(0.4f, t.share(new int[] {7, 2}, 2), 0.5f / 255, "'2' alone: 3 in 2 of 5");
    assertEquals(0f, t.share(new int[] {7}, 1), 0f, "no entry");
  }

  @Test
  void aVersionOneFileWithoutSharesReadsWithShareOne() throws IOException {
    int[] a = {1, 2, 3, 1, 2, 4, 1, 2, 3};
    NgramTable t = NgramTrainer.train(List.of(a), 8, 2, 1, "sha");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    t.write(out);
    byte[] v2 = out.toByteArray();
    byte[] v1 = java.util.Arrays.copyOf(v2, v2.length - t.size());
    java.nio.ByteBuffer.wrap(v1, 4, 4).putInt(1);
    NgramTable old = NgramTable.read(new ByteArrayInputStream(v1));
    assertEquals(t.next(a, 2), old.next(a, 2));
    assertEquals(2f / 3, t.share(a, 2), 0.5f / 255);
    assertEquals(1f, old.share(a, 2), 0f);
    java.nio.ByteBuffer.wrap(v1, 4, 4).putInt(3);
    IOException e =
        assertThrows(IOException.class, () -> NgramTable.read(new ByteArrayInputStream(v1)));
    assertTrue(e.getMessage().contains("version 3"), e.getMessage());
  }

  @Test
  void aDistilledTableCountsTheFollowStreamAfterTheStreamsContexts() {
    // contexts come from the text, the counted token from a teacher's choices at the same position
    int[] text = {1, 2, 3, 1, 2, 4, 1, 2, 3};
    int[] teacher = {0, 5, 6, 7, 5, 6, 7, 5, 6};
    NgramTable t = NgramTrainer.train(List.of(text), List.of(teacher), 8, 2, 2, "sha");
    assertEquals(6, t.next(new int[] {1, 2}, 2), "after '1 2' the teacher said 6 (3x)");
    assertEquals(5, t.next(new int[] {7, 1}, 2), "unseen '7 1': '1' alone was followed by 5 (3x)");
    assertEquals(
        NgramTrainer.train(List.of(text), 8, 2, 2, "sha").next(new int[] {1, 2}, 2),
        NgramTrainer.train(List.of(text), List.of(text), 8, 2, 2, "sha").next(new int[] {1, 2}, 2),
        "the text as its own follow stream is the plain table");
    assertThrows(
        IllegalArgumentException.class,
        () -> NgramTrainer.train(List.of(text), List.of(new int[] {1}), 8, 2, 2, "sha"),
        "a follow stream of another length");
    assertThrows(
        IllegalArgumentException.class,
        () ->
            NgramTrainer.train(
                List.of(text), List.of(new int[] {0, 9, 9, 9, 9, 9, 9, 9, 9}), 8, 2, 2, "sha"),
        "a follow token outside the vocabulary");
  }

  @Test
  void minCountDropsRareContexts() {
    int[] a = {1, 2, 3, 1, 2, 3, 4, 5};
    NgramTable loose = NgramTrainer.train(List.of(a), 8, 1, 1, "sha");
    NgramTable strict = NgramTrainer.train(List.of(a), 8, 1, 2, "sha");
    assertEquals(5, loose.next(new int[] {4}, 1));
    assertEquals(-1, strict.next(new int[] {4}, 1));
    assertEquals(3, strict.next(new int[] {2}, 1));
  }

  @Test
  void writesAndReadsTheSameTableAndRefusesOtherBytes() throws IOException {
    int[] a = new int[2000];
    java.util.SplittableRandom r = new java.util.SplittableRandom(3);
    for (int i = 0; i < a.length; i++) {
      a[i] = r.nextInt(20);
    }
    NgramTable t = NgramTrainer.train(List.of(a), 4096, 3, 2, "abc");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    t.write(out);
    NgramTable back = NgramTable.read(new ByteArrayInputStream(out.toByteArray()));
    assertEquals(t.size(), back.size());
    assertEquals("abc", back.tokenizerSha256());
    for (int i = 3; i < a.length; i++) {
      assertEquals(t.next(a, i), back.next(a, i));
      assertEquals(t.share(a, i), back.share(a, i));
    }
    byte[] bad = out.toByteArray();
    bad[0] ^= 1;
    assertThrows(IOException.class, () -> NgramTable.read(new ByteArrayInputStream(bad)));
    byte[] cut = java.util.Arrays.copyOf(out.toByteArray(), out.size() - 3);
    assertThrows(IOException.class, () -> NgramTable.read(new ByteArrayInputStream(cut)));
    assertThrows(
        IllegalArgumentException.class,
        () -> NgramTrainer.train(List.of(new int[] {1, 99}), 8, 1, 1, "x"));
  }

  @Test
  void aHeaderClaimingMoreEntriesThanTheFileHoldsIsRefusedBeforeAllocating(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws IOException {
    NgramTable t = NgramTrainer.train(List.of(new int[] {1, 2, 1, 2, 1, 2}), 8, 1, 1, "x");
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    t.write(out);
    byte[] b = out.toByteArray();
    java.nio.file.Path good = dir.resolve("good.bin");
    java.nio.file.Files.write(good, b);
    assertEquals(t.size(), NgramTable.read(good).size());
    // the entry count sits after magic, version, vocab, context and the UTF sha ("x": 2 + 1 bytes)
    int at = 4 * 4 + 3;
    java.nio.ByteBuffer.wrap(b, at, 4).putInt(1 << 25);
    java.nio.file.Path lying = dir.resolve("lying.bin");
    java.nio.file.Files.write(lying, b);
    IOException e = assertThrows(IOException.class, () -> NgramTable.read(lying));
    assertTrue(e.getMessage().contains("entries 33554432"), e.getMessage());
  }

  @Test
  void theEmbeddedDefaultTableReadsAndIsTheDefaultModelsTokenizers(
      @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws IOException {
    NgramTable t = NgramTable.embeddedDefault();
    assertEquals(4096, t.vocabSize());
    assertTrue(t.size() > 1000, "entries: " + t.size());
    java.nio.file.Path tok = dir.resolve("tokenizer.json");
    try (java.io.InputStream in =
        getClass()
            .getClassLoader()
            .getResourceAsStream(
                io.splitinfer.model.pkg.DefaultModel.RESOURCE_DIR + "tokenizer.json")) {
      java.nio.file.Files.copy(in, tok);
    }
    t.checkTokenizer(tok);
    java.nio.file.Files.writeString(tok, "{}");
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> t.checkTokenizer(tok));
    assertTrue(e.getMessage().contains("trained with the tokenizer of sha256"), e.getMessage());
  }
}
