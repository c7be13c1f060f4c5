package io.splitinfer.edge;

import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Prefill admission: at most {@code slots} multi-token steps (prompt chunks) run at once, and the
 * waiting ones are admitted round-robin over clients ({@link ClientKey}), so one client's flood of
 * prefills cannot starve other clients. Decode steps (one token) never wait here: a healthy UE's
 * decode competes with at most {@code slots} prefills, and its own prefill waits for at most one
 * turn of every other client.
 */
final class PrefillGate {
  /** Held while a prefill runs; closing it admits the next one. */
  interface Permit extends AutoCloseable {
    @Override
    void close();
  }

  private final int slots;
  private final EdgeMetrics metrics;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition changed = lock.newCondition();
  // clients with waiting prefills, in turn order: the head is admitted next, then moves to the back
  private final LinkedHashMap<String, ArrayDeque<boolean[]>> waiting = new LinkedHashMap<>();
  private int running;

  PrefillGate(int slots, EdgeMetrics metrics) {
    if (slots < 1) {
      throw new IllegalArgumentException("prefill slots must be >= 1, got " + slots);
    }
    this.slots = slots;
    this.metrics = metrics;
  }

  /** Waits for {@code client}'s turn and a free slot. */
  Permit enter(String client) throws InterruptedException {
    long t0 = System.nanoTime();
    boolean[] granted = {false};
    lock.lock();
    try {
      waiting.computeIfAbsent(client, k -> new ArrayDeque<>()).add(granted);
      admit();
      while (!granted[0]) {
        try {
          changed.await(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          if (!withdraw(client, granted)) {
            running--; // admitted meanwhile: give the slot back
            admit();
          }
          throw e;
        }
      }
    } finally {
      lock.unlock();
    }
    metrics.prefillWait(System.nanoTime() - t0);
    return this::exit;
  }

  private boolean withdraw(String client, boolean[] ticket) {
    ArrayDeque<boolean[]> q = waiting.get(client);
    if (q != null && q.remove(ticket)) {
      if (q.isEmpty()) {
        waiting.remove(client);
      }
      return true;
    }
    return false;
  }

  private void exit() {
    lock.lock();
    try {
      running--;
      admit();
    } finally {
      lock.unlock();
    }
  }

  private void admit() {
    boolean any = false;
    while (running < slots && !waiting.isEmpty()) {
      Iterator<Map.Entry<String, ArrayDeque<boolean[]>>> it = waiting.entrySet().iterator();
      Map.Entry<String, ArrayDeque<boolean[]>> head = it.next();
      it.remove();
      head.getValue().poll()[0] = true;
      running++;
      any = true;
      if (!head.getValue().isEmpty()) {
        waiting.put(head.getKey(), head.getValue()); // to the back of the turn order
      }
    }
    if (any) {
      changed.signalAll();
    }
  }
}
