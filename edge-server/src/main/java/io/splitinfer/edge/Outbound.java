package io.splitinfer.edge;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.splitinfer.proto.v1.EdgeMessage;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.function.Supplier;

/**
 * The sending side of one Session stream, honouring gRPC flow control ({@code isReady} / {@code
 * onReady}) as {@code SessionStream} and {@code LinkPipe} do: a message goes out at once while the
 * transport is ready and nothing waits before it, otherwise it waits here in order. A lazy source
 * (the KV blocks of a split switch) is pulled one message at a time, only when the stream is ready,
 * so a large transfer is never buffered inside gRPC. It owns the order of outbound messages and the
 * end of the stream; it does not know what the messages mean, and it must only be called under the
 * session's lock (the session's onReady handler calls {@link #drain}).
 */
final class Outbound {
  private static final Object COMPLETE = new Object();

  /** A lazy run of messages; when it is exhausted, {@code then} gives the message that follows. */
  private record Source(Iterator<EdgeMessage> messages, Supplier<EdgeMessage> then) {}

  private final ServerCallStreamObserver<EdgeMessage> out;
  private ArrayDeque<Object> queue = new ArrayDeque<>();
  private boolean closed;
  private int sources;

  Outbound(ServerCallStreamObserver<EdgeMessage> out) {
    this.out = out;
  }

  /** Sends {@code m} now if the stream is ready and nothing is queued, else queues it. */
  void send(EdgeMessage m) {
    if (closed) {
      return;
    }
    if (queue.isEmpty() && out.isReady()) {
      out.onNext(m);
    } else {
      queue.add(m);
    }
  }

  /**
   * Queues a lazy run of messages, pulled as the stream becomes ready; when it is exhausted, {@code
   * then} runs (under the session's lock) and the message it returns (if not null) goes next.
   */
  void stream(Iterator<EdgeMessage> messages, Supplier<EdgeMessage> then) {
    if (closed) {
      return;
    }
    queue.add(new Source(messages, then));
    sources++;
    drain();
  }

  /** Whether a lazy run is still queued (it reads state the session must not change yet). */
  boolean streaming() {
    return sources > 0;
  }

  /**
   * Pulls every queued lazy run to its end now (their {@code then} runs), keeping the order. Called
   * before the session changes or frees what those runs read; the pulled messages wait here, not
   * inside gRPC, and still go out as the stream becomes ready.
   */
  void settle() {
    if (!streaming()) {
      return;
    }
    ArrayDeque<Object> flat = new ArrayDeque<>();
    for (Object o : queue) {
      if (o instanceof Source s) {
        s.messages().forEachRemaining(flat::add);
        EdgeMessage next = s.then().get();
        if (next != null) {
          flat.add(next);
        }
      } else {
        flat.add(o);
      }
    }
    queue = flat;
    sources = 0;
    drain();
  }

  /** Completes the stream (OK) after everything queued has gone out. */
  void complete() {
    if (closed) {
      return;
    }
    queue.add(COMPLETE);
    drain();
  }

  /** Ends the stream with {@code status} now, dropping what is queued. */
  void fail(Status status) {
    if (closed) {
      return;
    }
    closed = true;
    queue.clear();
    sources = 0;
    out.onError(status.asRuntimeException());
  }

  /** The call is gone (cancelled): drop what is queued and send nothing more. */
  void abandon() {
    closed = true;
    queue.clear();
    sources = 0;
  }

  /** Sends what the stream is ready for; called on each onReady. */
  void drain() {
    while (!queue.isEmpty() && !closed) {
      Object head = queue.peek();
      if (head == COMPLETE) {
        queue.clear();
        sources = 0;
        closed = true;
        out.onCompleted();
        return;
      }
      if (head instanceof Source s && !s.messages().hasNext()) {
        queue.poll();
        sources--;
        EdgeMessage next = s.then().get();
        if (next != null) {
          queue.addFirst(next);
        }
        continue;
      }
      if (!out.isReady()) {
        return;
      }
      if (head instanceof Source s) {
        out.onNext(s.messages().next());
      } else {
        queue.poll();
        out.onNext((EdgeMessage) head);
      }
    }
  }

  /** Messages waiting (a lazy run counts as one). */
  int queued() {
    return queue.size();
  }
}
