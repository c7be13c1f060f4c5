package io.splitinfer.edge;

import io.grpc.Channel;
import io.grpc.Status;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.SplitInferenceGrpc;
import io.splitinfer.proto.v1.UeMessage;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** A hand-driven Session stream for sending crafted (bad) messages. */
final class RawSession {
  final LinkedBlockingQueue<EdgeMessage> received = new LinkedBlockingQueue<>();
  final CompletableFuture<Status> status = new CompletableFuture<>();
  private ClientCallStreamObserver<UeMessage> requests;

  RawSession(Channel channel) {
    SplitInferenceGrpc.newStub(channel)
        .session(
            new ClientResponseObserver<UeMessage, EdgeMessage>() {
              @Override
              public void beforeStart(ClientCallStreamObserver<UeMessage> r) {
                requests = r;
              }

              @Override
              public void onNext(EdgeMessage value) {
                received.add(value);
              }

              @Override
              public void onError(Throwable t) {
                status.complete(Status.fromThrowable(t));
              }

              @Override
              public void onCompleted() {
                status.complete(Status.OK);
              }
            });
  }

  RawSession send(UeMessage m) {
    requests.onNext(m);
    return this;
  }

  EdgeMessage next() throws InterruptedException {
    EdgeMessage m = received.poll(10, TimeUnit.SECONDS);
    if (m == null) {
      throw new AssertionError("no message from the edge; status " + status.getNow(null));
    }
    return m;
  }

  Status awaitStatus() throws Exception {
    return status.get(10, TimeUnit.SECONDS);
  }

  void cancel() {
    requests.cancel("test cancels", null);
  }

  void halfClose() {
    requests.onCompleted();
  }
}
