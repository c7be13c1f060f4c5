package io.splitinfer.model.vector;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A parallel for-loop over [0, total) for the decode step's small kernels: the calling thread and
 * {@code threads - 1} workers claim chunks of the range from one counter. At d = 256 a weight
 * product takes 10–100 µs, so a hand-off must cost ~1 µs, not the 50–80 µs of waking a sleeping
 * thread (what ONNX Runtime's intra-op pool pays here per node, see model/README.md): a worker
 * spins for {@link #SPIN_NANOS} after its last chunk before it parks.
 *
 * <p>Robust under load: a worker that is not running claims nothing, and the caller then runs every
 * chunk itself; it only ever waits for chunks a worker has claimed and is running. Chunks never
 * change what is computed for a row, so results do not depend on the thread count. Calls from
 * several threads at once (the edge's sessions) are safe: a call that finds the pool busy runs its
 * range on its own thread.
 */
final class RowPool implements AutoCloseable {
  /** How long an idle worker spins for the next range before it parks. */
  static final long SPIN_NANOS = 200_000;

  /** Body of the loop: rows [from, to). */
  interface Body {
    void run(int from, int to);
  }

  private final Worker[] workers;
  private final ReentrantLock owner = new ReentrantLock();
  private volatile Task task;
  private volatile boolean closed;

  /** A pool for {@code threads} threads in all (the caller included); 1 = no workers. */
  RowPool(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    }
    workers = new Worker[threads - 1];
    for (int i = 0; i < workers.length; i++) {
      workers[i] = new Worker("vector-engine-" + (i + 1));
    }
  }

  int threads() {
    return workers.length + 1;
  }

  /** Runs {@code body} over [0, total) in chunks of {@code chunk}; returns when all are done. */
  void forRange(int total, int chunk, Body body) {
    if (workers.length == 0 || total <= chunk || !owner.tryLock()) {
      body.run(0, total);
      return;
    }
    try {
      Task t = new Task(body, total, chunk);
      task = t;
      for (Worker w : workers) {
        w.wake();
      }
      t.work();
      while (t.pending.get() > 0) {
        Thread.onSpinWait();
      }
      if (t.failure != null) {
        throw t.failure;
      }
    } finally {
      owner.unlock();
    }
  }

  @Override
  public void close() {
    closed = true;
    for (Worker w : workers) {
      LockSupport.unpark(w.thread);
    }
  }

  /**
   * One range: its chunks are claimed from {@code next}; {@code pending} counts unfinished ones.
   */
  private static final class Task {
    final Body body;
    final int total;
    final int chunk;
    final int chunks;
    final AtomicInteger next = new AtomicInteger();
    final AtomicInteger pending;
    volatile RuntimeException failure;

    Task(Body body, int total, int chunk) {
      this.body = body;
      this.total = total;
      this.chunk = chunk;
      this.chunks = (total + chunk - 1) / chunk;
      this.pending = new AtomicInteger(chunks);
    }

    void work() {
      int c;
      while ((c = next.getAndIncrement()) < chunks) {
        try {
          body.run(c * chunk, Math.min(total, (c + 1) * chunk));
        } catch (RuntimeException | Error e) {
          failure = e instanceof RuntimeException r ? r : new IllegalStateException(e);
        } finally {
          pending.decrementAndGet();
        }
      }
    }
  }

  private final class Worker implements Runnable {
    final Thread thread;
    volatile boolean sleeping;

    Worker(String name) {
      thread = new Thread(this, name);
      thread.setDaemon(true);
      thread.start();
    }

    void wake() {
      if (sleeping) {
        LockSupport.unpark(thread);
      }
    }

    @Override
    public void run() {
      Task seen = null;
      while (!closed) {
        Task t = task;
        if (t != seen) {
          seen = t;
          t.work();
          continue;
        }
        long until = System.nanoTime() + SPIN_NANOS;
        while (task == seen && !closed && System.nanoTime() < until) {
          Thread.onSpinWait();
        }
        if (task == seen && !closed) {
          sleeping = true;
          if (task == seen && !closed) {
            LockSupport.park(this);
          }
          sleeping = false;
        }
      }
    }
  }
}
