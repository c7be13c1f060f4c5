package io.splitinfer.channelsim;

import io.splitinfer.core.channel.ChannelParams.LinkShape;
import java.util.ArrayDeque;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleUnaryOperator;
import java.util.function.Supplier;

/**
 * One direction of one proxied RPC: a simulated link with a transmission queue (bandwidth as a
 * token bucket: a message of b bytes occupies the link for 8b/rate seconds after the previous one),
 * then one-way delay ± jitter plus any retransmission delay. Messages leave in order (jitter never
 * reorders: a message is never delivered before the one ahead of it).
 *
 * <p>Backpressure: the pipe asks its source for one message at a time ({@code request(1)}) and only
 * while the bytes it holds are below the queue limit (a single message is always admitted) and the
 * sink is ready. A message is written to the sink only when the sink {@code isReady()}; otherwise
 * the pipe waits for the sink's onReady. So a slow edge stalls the UE, and the proxy never holds
 * more than the limit plus one message per direction.
 *
 * <p>All methods synchronize on a lock shared by both directions of the call (gRPC calls are not
 * thread-safe).
 */
final class LinkPipe {
  /** Where messages go. */
  interface Sink {
    boolean isReady();

    void send(byte[] message);
  }

  /** Where messages come from. */
  interface Source {
    void request(int n);
  }

  private record Item(byte[] message, Runnable action, long deliverAtNanos) {}

  private final Object lock;
  private final ScheduledExecutorService timer;
  private final Supplier<LinkShape> shape;
  private final DoubleUnaryOperator jitter;
  private final Source source;
  private final Sink sink;
  private final ArrayDeque<Item> queue = new ArrayDeque<>();
  private long queuedBytes;
  private long maxQueuedBytes;
  private long txFreeAtNanos;
  private long lastDeliverAtNanos;
  private boolean requested;
  private boolean ended;
  private boolean closed;
  private ScheduledFuture<?> wakeup;
  private long wakeupAt = Long.MAX_VALUE;

  LinkPipe(
      Object lock,
      ScheduledExecutorService timer,
      Supplier<LinkShape> shape,
      DoubleUnaryOperator jitter,
      Source source,
      Sink sink) {
    this.lock = lock;
    this.timer = timer;
    this.shape = shape;
    this.jitter = jitter;
    this.source = source;
    this.sink = sink;
  }

  /** Asks the source for the first message. */
  void start() {
    synchronized (lock) {
      maybeRequest();
    }
  }

  /** A message from the source, with extra delay (retransmissions) in ms. */
  void offer(byte[] message, double extraDelayMs) {
    synchronized (lock) {
      requested = false;
      if (closed) {
        return;
      }
      LinkShape s = shape.get();
      long now = System.nanoTime();
      long txStart = Math.max(now, txFreeAtNanos);
      long txNanos = s.rateBps() > 0 ? (long) (message.length * 8e9 / s.rateBps()) : 0;
      txFreeAtNanos = txStart + txNanos;
      long delay = millisToNanos(s.delayMs() + jitter.applyAsDouble(s.jitterMs()) + extraDelayMs);
      long at = Math.max(txFreeAtNanos + Math.max(0, delay), lastDeliverAtNanos);
      lastDeliverAtNanos = at;
      queue.add(new Item(message, null, at));
      queuedBytes += message.length;
      maxQueuedBytes = Math.max(maxQueuedBytes, queuedBytes);
      drain();
    }
  }

  /**
   * The source is done; {@code action} (half-close or close) runs in order after the queued
   * messages, one propagation delay after the last transmission.
   */
  void end(Runnable action) {
    synchronized (lock) {
      if (closed || ended) {
        return;
      }
      ended = true;
      LinkShape s = shape.get();
      long at =
          Math.max(
              Math.max(System.nanoTime(), txFreeAtNanos) + millisToNanos(s.delayMs()),
              lastDeliverAtNanos);
      lastDeliverAtNanos = at;
      queue.add(new Item(null, action, at));
      drain();
    }
  }

  /** Headers (or any ordered event without payload): delivered in order, after the delay. */
  void event(Runnable action) {
    synchronized (lock) {
      if (closed) {
        return;
      }
      long at =
          Math.max(System.nanoTime() + millisToNanos(shape.get().delayMs()), lastDeliverAtNanos);
      lastDeliverAtNanos = at;
      queue.add(new Item(null, action, at));
      drain();
    }
  }

  /** The sink became ready. */
  void onSinkReady() {
    synchronized (lock) {
      drain();
    }
  }

  /** Drops everything (the call was cancelled or ended on the other side). */
  void cancel() {
    synchronized (lock) {
      closed = true;
      queue.clear();
      queuedBytes = 0;
      if (wakeup != null) {
        wakeup.cancel(false);
      }
    }
  }

  @Override
  public String toString() {
    synchronized (lock) {
      return "LinkPipe[queued="
          + queue.size()
          + "/"
          + queuedBytes
          + "B requested="
          + requested
          + " ended="
          + ended
          + " closed="
          + closed
          + " sinkReady="
          + sink.isReady()
          + " wakeupIn="
          + (wakeupAt == Long.MAX_VALUE ? "none" : (wakeupAt - System.nanoTime()) / 1000 + "us")
          + " wakeupDone="
          + (wakeup == null ? "null" : wakeup.isDone())
          + "]";
    }
  }

  long maxQueuedBytes() {
    synchronized (lock) {
      return maxQueuedBytes;
    }
  }

  long queuedBytes() {
    synchronized (lock) {
      return queuedBytes;
    }
  }

  private void drain() {
    while (!closed && !queue.isEmpty()) {
      Item head = queue.peek();
      long now = System.nanoTime();
      if (head.deliverAtNanos > now) {
        schedule(head.deliverAtNanos);
        break;
      }
      if (head.action != null) {
        queue.poll();
        head.action.run();
        continue;
      }
      if (!sink.isReady()) {
        break; // onSinkReady resumes
      }
      queue.poll();
      queuedBytes -= head.message.length;
      sink.send(head.message);
    }
    maybeRequest();
  }

  private void maybeRequest() {
    if (requested || ended || closed) {
      return;
    }
    long limit = shape.get().effectiveQueueBytes();
    if ((queue.isEmpty() || queuedBytes < limit) && sink.isReady()) {
      requested = true;
      source.request(1);
    }
  }

  private void schedule(long atNanos) {
    if (wakeup != null && !wakeup.isDone() && wakeupAt <= atNanos) {
      return;
    }
    if (wakeup != null) {
      wakeup.cancel(false);
    }
    wakeupAt = atNanos;
    wakeup =
        timer.schedule(
            () -> {
              synchronized (lock) {
                wakeupAt = Long.MAX_VALUE;
                drain();
              }
            },
            Math.max(0, atNanos - System.nanoTime()),
            TimeUnit.NANOSECONDS);
  }

  private static long millisToNanos(double ms) {
    return (long) (ms * 1e6);
  }
}
