package io.splitinfer.ue.openai;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A scripted backend: one token per character of {@code reply} (id = char), text = the chars; the
 * prompt "text" maps each char to its code point after a BOS id 1. Can block until released and
 * fail with a given error, so the HTTP layer's limits and errors are testable without an edge.
 */
final class FakeBackend implements CompletionBackend {
  volatile String reply = "Hello, world. Goodbye.";
  volatile boolean endWithEos = true;
  volatile RuntimeException failWith;
  volatile CountDownLatch release;
  final CountDownLatch entered = new CountDownLatch(1);
  volatile int tokensConsumed;
  volatile Job lastJob;

  @Override
  public String modelId() {
    return "fake-model";
  }

  @Override
  public int contextLength() {
    return 256;
  }

  @Override
  public int vocabSize() {
    return 1000;
  }

  @Override
  public int[] encode(String text) {
    int[] ids = new int[text.length() + 1];
    ids[0] = 1;
    for (int i = 0; i < text.length(); i++) {
      ids[i + 1] = text.charAt(i);
    }
    return ids;
  }

  @Override
  public String decode(int[] ids) {
    StringBuilder b = new StringBuilder();
    for (int id : ids) {
      if (id > 1) {
        b.append((char) id);
      }
    }
    return b.toString();
  }

  @Override
  public ChatTemplate chatTemplate() {
    return ChatTemplate.PLAIN;
  }

  @Override
  public Outcome generate(Job job, TokenSink sink) throws IOException {
    lastJob = job;
    entered.countDown();
    if (release != null) {
      try {
        release.await(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (failWith != null) {
      throw failWith;
    }
    int n = 0;
    boolean eos = false;
    String r = reply;
    for (int i = 0; i < job.maxTokens(); i++) {
      eos = i == r.length();
      if (i > r.length() || (eos && !endWithEos)) {
        break;
      }
      n++;
      boolean go = sink.onToken(eos ? 2 : r.charAt(i), eos ? "" : r.substring(i, i + 1), eos, 6);
      tokensConsumed = n;
      if (!go || eos) {
        break;
      }
    }
    return new Outcome(
        n, eos, List.of(new SplitUse(0, 6, 1), new SplitUse(3, 4, 2)), 5_000_000, 123.4);
  }
}
