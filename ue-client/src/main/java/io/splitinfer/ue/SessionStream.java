package io.splitinfer.ue;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.splitinfer.core.trace.StepMark;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.SplitInferenceGrpc;
import io.splitinfer.proto.v1.UeMessage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One Session stream seen from the UE as a blocking pair: {@link #send} waits while the transport
 * is not ready (flow control by onReady), {@link #take} returns the next EdgeMessage or throws the
 * stream's error status (UNAVAILABLE when nothing arrived for the stall timeout). Counts the bytes
 * it sends. One message may be {@link #arm}ed to go out from the transport thread the moment a
 * given Token arrives, or sent ahead on the guess of that Token ({@link #sendAhead}), for {@link
 * Lookahead}; every send happens under one lock, so the request observer is never called from two
 * threads at once.
 */
final class SessionStream implements AutoCloseable {
  /** gRPC length-prefixed message header: 1 byte compressed flag + 4 bytes length. */
  static final int GRPC_FRAME_HEADER = 5;

  private static final Object COMPLETED = new Object();

  /** A Token that fired the armed message ({@link #arm}) on arrival. */
  private record Fired(EdgeMessage token) {}

  /**
   * A message to send from the transport thread the moment the Token {@code tokenId} arrives
   * ({@code message} null: it was sent ahead, and only the Token's arrival is marked).
   */
  private record Armed(int tokenId, UeMessage message) {}

  private Armed armed; // guarded by lock
  private boolean lastFired;

  private final LinkedBlockingQueue<Object> inbox = new LinkedBlockingQueue<>();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition ready = lock.newCondition();
  private final ClientCallStreamObserver<UeMessage> requests;
  private volatile Status terminal;
  private long bytesSent; // guarded by lock
  private long messagesSent; // guarded by lock
  private boolean halfClosed;
  private final long stallNanos;

  SessionStream(Channel channel) {
    this(channel, 0);
  }

  /**
   * @param stallNanos {@link #take} gives up on a stream that brought nothing for this long: it
   *     cancels it and throws UNAVAILABLE (a dead link that never reset); 0 = wait forever
   */
  SessionStream(Channel channel, long stallNanos) {
    this.stallNanos = stallNanos;
    ClientCallStreamObserver<UeMessage>[] holder = newHolder();
    SplitInferenceGrpc.newStub(channel)
        .session(
            new ClientResponseObserver<UeMessage, EdgeMessage>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<UeMessage> r) {
                holder[0] = r;
                r.setOnReadyHandler(
                    () -> {
                      lock.lock();
                      try {
                        ready.signalAll();
                      } finally {
                        lock.unlock();
                      }
                    });
              }

              @Override
              public void onNext(EdgeMessage value) {
                StepMark.at(StepMark.Point.UE_ARRIVED);
                if (!value.hasToken()) {
                  inbox.add(value);
                  return;
                }
                lock.lock();
                try {
                  Armed a = armed;
                  armed = null;
                  if (a != null
                      && terminal == null
                      && a.tokenId() == value.getToken().getId()
                      && !value.getToken().getEos()) {
                    if (a.message() != null) {
                      holder[0].onNext(a.message());
                      bytesSent += a.message().getSerializedSize() + GRPC_FRAME_HEADER;
                      messagesSent++;
                    }
                    inbox.add(new Fired(value));
                  } else {
                    inbox.add(value);
                  }
                } finally {
                  lock.unlock();
                }
              }

              @Override
              public void onError(Throwable t) {
                terminal = Status.fromThrowable(t);
                inbox.add(terminal);
                wake();
              }

              @Override
              public void onCompleted() {
                terminal = Status.OK;
                inbox.add(COMPLETED);
                wake();
              }
            });
    this.requests = holder[0];
  }

  @SuppressWarnings("unchecked")
  private static ClientCallStreamObserver<UeMessage>[] newHolder() {
    return new ClientCallStreamObserver[1];
  }

  private void wake() {
    lock.lock();
    try {
      ready.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Sends one message, waiting while the stream is not ready. */
  void send(UeMessage m) {
    lock.lock();
    try {
      while (!requests.isReady() && terminal == null) {
        ready.await(100, TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw Status.CANCELLED.withDescription("interrupted").asRuntimeException();
    } finally {
      lock.unlock();
    }
    if (terminal != null && !terminal.isOk()) {
      throw terminal.asRuntimeException();
    }
    lock.lock();
    try {
      requests.onNext(m);
      bytesSent += m.getSerializedSize() + GRPC_FRAME_HEADER;
      messagesSent++;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Sends {@code m} from the transport thread as soon as the next Token arrives, if that Token is
   * {@code tokenId} (and not EOS); {@link #take} then tells by {@link #lastFired}. With {@code m}
   * null only the Token's arrival is marked ({@link #sendAhead}). Returns false (nothing armed)
   * when a message is already waiting to be taken.
   */
  boolean arm(int tokenId, UeMessage m) {
    lock.lock();
    try {
      if (!inbox.isEmpty() || terminal != null) {
        return false;
      }
      armed = new Armed(tokenId, m);
      return true;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Sends {@code m} now, a row sent ahead on the guess that the next Token is {@code tokenId}
   * (HiddenState.if_token); when that Token arrives, {@link #take} tells by {@link #lastFired}, as
   * for an armed message. Returns false (nothing sent) when a message is already waiting to be
   * taken.
   */
  boolean sendAhead(int tokenId, UeMessage m) {
    if (!arm(tokenId, null)) {
      return false;
    }
    send(m);
    return true;
  }

  /** Whether the message {@link #take} returned last fired the armed message. */
  boolean lastFired() {
    return lastFired;
  }

  /**
   * Next message from the edge; null when the edge completed the stream with OK; throws the
   * stream's status when it ended with an error.
   */
  EdgeMessage take() {
    Object o;
    try {
      o = stallNanos > 0 ? inbox.poll(stallNanos, TimeUnit.NANOSECONDS) : inbox.take();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      cancel("interrupted");
      throw Status.CANCELLED.withDescription("interrupted").asRuntimeException();
    }
    if (o == null) {
      String why = "no message from the edge for " + stallNanos / 1_000_000 + " ms";
      cancel(why);
      throw Status.UNAVAILABLE.withDescription(why).asRuntimeException();
    }
    lastFired = o instanceof Fired;
    if (o instanceof Fired f) {
      return f.token();
    }
    if (o instanceof EdgeMessage m) {
      return m;
    }
    if (o == COMPLETED) {
      inbox.add(COMPLETED);
      return null;
    }
    Status s = (Status) o;
    inbox.add(s);
    throw new StatusRuntimeException(s);
  }

  long bytesSent() {
    return bytesSent;
  }

  long messagesSent() {
    return messagesSent;
  }

  /** Half-closes the request side (idempotent). */
  void halfClose() {
    lock.lock();
    try {
      if (!halfClosed && terminal == null) {
        halfClosed = true;
        requests.onCompleted();
      }
    } finally {
      lock.unlock();
    }
  }

  void cancel(String why) {
    if (terminal == null) {
      requests.cancel(why, null);
    }
  }

  @Override
  public void close() {
    if (terminal == null) {
      cancel("UE closed the session");
    }
  }
}
