package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.KvTransfer;
import io.splitinfer.proto.v1.SessionDone;
import io.splitinfer.proto.v1.SplitSwitchAck;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The edge's outbound flow control: nothing is pulled or sent while the transport is not ready. */
class OutboundTest {
  /** A server stream whose readiness the test sets; records what was sent. */
  static final class FakeStream extends ServerCallStreamObserver<EdgeMessage> {
    int credit;
    final List<EdgeMessage> sent = new ArrayList<>();
    boolean completed;
    Status error;

    @Override
    public boolean isReady() {
      return credit > 0;
    }

    @Override
    public void onNext(EdgeMessage m) {
      if (credit <= 0) {
        throw new AssertionError("sent while not ready");
      }
      credit--;
      sent.add(m);
    }

    @Override
    public void onError(Throwable t) {
      error = Status.fromThrowable(t);
    }

    @Override
    public void onCompleted() {
      completed = true;
    }

    @Override
    public boolean isCancelled() {
      return false;
    }

    @Override
    public void setOnCancelHandler(Runnable r) {}

    @Override
    public void setCompression(String c) {}

    @Override
    public void setOnReadyHandler(Runnable r) {}

    @Override
    public void disableAutoInboundFlowControl() {}

    @Override
    public void request(int n) {}

    @Override
    public void setMessageCompression(boolean enable) {}
  }

  static Iterator<EdgeMessage> blocks(int n, AtomicInteger pulled) {
    return new Iterator<>() {
      int i;

      @Override
      public boolean hasNext() {
        return i < n;
      }

      @Override
      public EdgeMessage next() {
        pulled.incrementAndGet();
        return EdgeMessage.newBuilder().setKv(KvTransfer.newBuilder().setLayer(i++)).build();
      }
    };
  }

  static EdgeMessage ack() {
    return EdgeMessage.newBuilder().setSplitAck(SplitSwitchAck.newBuilder().setSplit(7)).build();
  }

  @Test
  void lazySourceIsPulledOnlyAsTheStreamBecomesReady() {
    FakeStream f = new FakeStream();
    Outbound out = new Outbound(f);
    AtomicInteger pulled = new AtomicInteger();
    AtomicInteger thenRan = new AtomicInteger();
    out.stream(
        blocks(100, pulled),
        () -> {
          thenRan.incrementAndGet();
          return ack();
        });
    assertEquals(0, pulled.get(), "nothing encoded while not ready");
    assertTrue(out.streaming());
    f.credit = 3;
    out.drain();
    assertEquals(3, pulled.get(), "one block per unit of readiness");
    assertEquals(3, f.sent.size());
    // A message sent meanwhile waits behind the transfer (order is kept).
    out.send(EdgeMessage.newBuilder().setDone(SessionDone.getDefaultInstance()).build());
    f.credit = 1000;
    out.drain();
    assertEquals(100, pulled.get());
    assertEquals(1, thenRan.get());
    assertEquals(102, f.sent.size());
    assertTrue(f.sent.get(99).hasKv());
    assertTrue(f.sent.get(100).hasSplitAck(), "ack right after the last block");
    assertTrue(f.sent.get(101).hasDone());
    assertFalse(out.streaming());
  }

  @Test
  void settlePullsTheSourceButSendsOnlyWhenReady() {
    FakeStream f = new FakeStream();
    Outbound out = new Outbound(f);
    AtomicInteger pulled = new AtomicInteger();
    out.stream(blocks(5, pulled), OutboundTest::ack);
    out.settle();
    assertEquals(5, pulled.get());
    assertFalse(out.streaming());
    assertEquals(0, f.sent.size());
    out.complete();
    assertFalse(f.completed, "completion waits for the queue");
    f.credit = 6;
    out.drain();
    assertEquals(6, f.sent.size());
    assertTrue(f.sent.get(5).hasSplitAck());
    assertTrue(f.completed);
  }

  @Test
  void sendIsDirectWhenReadyAndFailDropsTheQueue() {
    FakeStream f = new FakeStream();
    Outbound out = new Outbound(f);
    f.credit = 1;
    out.send(ack());
    assertEquals(1, f.sent.size());
    assertEquals(0, out.queued());
    out.send(ack());
    assertEquals(1, out.queued());
    out.fail(Status.INVALID_ARGUMENT.withDescription("x"));
    assertEquals(Status.Code.INVALID_ARGUMENT, f.error.getCode());
    assertEquals(0, out.queued());
    f.credit = 5;
    out.drain();
    out.send(ack());
    assertEquals(1, f.sent.size(), "nothing after the end");
  }
}
