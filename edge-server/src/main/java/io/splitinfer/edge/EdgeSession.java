package io.splitinfer.edge;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.splitinfer.core.trace.StepMark;
import io.splitinfer.core.trace.StepMark.Point;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.proto.TensorFormatException;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.Pilot;
import io.splitinfer.proto.v1.SessionAccepted;
import io.splitinfer.proto.v1.SessionDone;
import io.splitinfer.proto.v1.SessionOpen;
import io.splitinfer.proto.v1.Token;
import io.splitinfer.proto.v1.UeMessage;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One UE session on the edge, its lifecycle and dispatch: takes each UeMessage under the session's
 * lock, hands it to {@link InputChecks}, {@link StepRunner} or {@link SplitSwitcher}, sends through
 * the flow-controlled {@link Outbound}, and ends the stream once, with a specific status, however
 * the session ends (refused input, close, half-close, cancel, idle TTL, shutdown): every refusal is
 * counted by reason and the cache and KV budget are freed before the UE sees the end. It owns the
 * session's state and lock; it does no validation, compute or KV moving of its own, and it reaches
 * the session table, limits and pilot handler only through {@link SplitInferenceService}.
 */
final class EdgeSession implements StreamObserver<UeMessage> {
  private static final Logger log = LoggerFactory.getLogger(EdgeSession.class);

  private final SplitInferenceService service;
  private final Outbound out;
  private final ModelConfig mc;
  private final InputChecks checks;
  private final SplitSwitcher switcher;
  private final SessionState state;
  private final ReentrantLock lock = new ReentrantLock();
  private final String client;
  private final long started = System.nanoTime();

  private volatile long lastActivity = started;
  private volatile boolean opened;
  private boolean ended;
  private boolean registered;

  /** A decode step is with the batcher: no message is taken and the cache is not touched. */
  private boolean stepInFlight;

  /** How the session ends once the step in flight is done (half-close, cancel, terminate). */
  private Runnable endAfterStep;

  /** The end that waits for a step when the UE went away (its reply is not sent). */
  private final Runnable cancelAfterStep = this::cancelled;

  /** One inbound message is requested and not yet delivered (manual inbound flow control). */
  private boolean requested;

  private ServerCallStreamObserver<EdgeMessage> call;

  /**
   * @param client who the stream counts against ({@link ClientKey})
   */
  EdgeSession(
      SplitInferenceService service, ServerCallStreamObserver<EdgeMessage> out, String client) {
    this.service = service;
    this.client = client;
    this.out = new Outbound(out);
    this.mc = service.engine().config();
    this.checks = service.checks();
    this.switcher =
        new SplitSwitcher(
            service.engine(), checks, service.metrics(), service.config().maxChunkTokens());
    this.state =
        new SessionState(
            service.table(),
            service.config().kvBudgetBytes(),
            2L * mc.numKvHeads() * mc.headDim() * Float.BYTES);
    out.setOnReadyHandler(this::onReady);
  }

  /**
   * Takes inbound messages one at a time: the next is requested only when the last one is done (for
   * a batched decode step, when the batcher has answered), so a step never overlaps the next
   * message and nothing queues here. Called by the service before the stream starts.
   */
  void start(ServerCallStreamObserver<EdgeMessage> call) {
    this.call = call;
    call.disableAutoRequest();
    requestNext();
  }

  private void requestNext() {
    if (!requested && !ended && !stepInFlight && call != null) {
      requested = true;
      try {
        call.request(1);
      } catch (RuntimeException e) {
        log.debug("session {}: cannot request the next message: {}", state.id, e.toString());
      }
    }
  }

  String id() {
    return state.id;
  }

  long lastActivityNanos() {
    return lastActivity;
  }

  String client() {
    return client;
  }

  long startedNanos() {
    return started;
  }

  boolean opened() {
    return opened;
  }

  @Override
  public void onNext(UeMessage msg) {
    StepMark.at(Point.EDGE_ARRIVED);
    lock.lock();
    try {
      requested = false;
      if (ended) {
        return;
      }
      if (!msg.hasPilot()) {
        lastActivity = System.nanoTime(); // pilots alone do not keep a session alive
      }
      checks.message(msg);
      if (!state.isOpen()) {
        if (!msg.hasOpen()) {
          throw SessionException.precondition(
              "not_open",
              "the first message of a session must be `open`, got " + msg.getKindCase());
        }
        open(msg.getOpen());
        return;
      }
      if (!msg.hasPilot()) {
        out.settle(); // a KV export still streaming reads the cache this message may change
      }
      switch (msg.getKindCase()) {
        case OPEN ->
            throw SessionException.precondition(
                "duplicate_open", "session " + state.id + " is already open");
        case HIDDEN -> hidden(msg.getHidden());
        case SPLIT_SWITCH -> switcher.onSwitch(state, msg.getSplitSwitch(), out);
        case KV -> switcher.onKv(state, msg.getKv(), out);
        case HISTORY -> switcher.onHistory(state, msg.getHistory(), out);
        case PILOT -> pilot(msg.getPilot());
        case CLOSE -> {
          checks.session(state, msg.getClose().getSessionId());
          finish(SessionDone.Reason.REASON_CLOSED);
        }
        default ->
            throw SessionException.invalid(
                "empty_message", "UeMessage has no kind set (unknown or empty oneof)");
      }
    } catch (SessionException e) {
      service.metrics().rejected(e.reason());
      terminate(e.status(), "rejected");
    } catch (TensorFormatException e) {
      service.metrics().rejected("bad_tensor");
      terminate(Status.INVALID_ARGUMENT.withDescription(e.getMessage()), "rejected");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      terminate(Status.UNAVAILABLE.withDescription("edge interrupted"), "error");
    } catch (RuntimeException e) {
      internalError(e);
    } finally {
      try {
        requestNext();
      } finally {
        lock.unlock();
        StepMark.at(Point.EDGE_DONE);
      }
    }
  }

  /** The transport can take more: send what waits (a KV export pulls its next blocks). */
  private void onReady() {
    lock.lock();
    try {
      out.drain();
    } catch (RuntimeException e) {
      internalError(e);
    } finally {
      lock.unlock();
    }
  }

  private void internalError(RuntimeException e) {
    log.error("session {} failed", state.id, e);
    service.metrics().rejected("internal");
    terminate(Status.INTERNAL.withDescription("edge error: " + e).withCause(e), "error");
  }

  @Override
  public void onError(Throwable t) {
    cancelled();
  }

  @Override
  public void onCompleted() {
    lock.lock();
    try {
      if (stepInFlight) {
        if (endAfterStep == null) {
          endAfterStep = this::onCompleted;
        }
        return;
      }
      if (!ended) {
        if (!state.isOpen()) {
          terminate(Status.OK, "closed");
        } else {
          finish(SessionDone.Reason.REASON_CLOSED);
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /** The UE went away (or the call was cancelled): free everything, send nothing. */
  void cancelled() {
    lock.lock();
    try {
      if (stepInFlight) {
        endAfterStep = cancelAfterStep; // the batcher still writes the cache: free it after
        return;
      }
      if (!ended) {
        ended = true;
        out.abandon(); // a KV export must not read the cache after it is freed
        release("cancelled");
      }
    } finally {
      lock.unlock();
    }
  }

  /** Idle TTL passed: end with DEADLINE_EXCEEDED unless a message is being processed. */
  void expire(Duration ttl) {
    if (!lock.tryLock()) {
      return;
    }
    try {
      if (!ended && !stepInFlight && System.nanoTime() - lastActivity > ttl.toNanos()) {
        service.metrics().rejected("idle_ttl");
        terminate(
            Status.DEADLINE_EXCEEDED.withDescription(
                "session " + state.id + " idle for more than " + ttl.toMillis() + " ms"),
            "expired");
      }
    } finally {
      lock.unlock();
    }
  }

  /** The stream sent no {@code open} within {@code deadline}: end it with DEADLINE_EXCEEDED. */
  void expireUnopened(Duration deadline) {
    if (!lock.tryLock()) {
      return;
    }
    try {
      if (!ended && !opened) {
        service.metrics().rejected("open_deadline");
        terminate(
            Status.DEADLINE_EXCEEDED.withDescription(
                "no `open` within " + deadline.toMillis() + " ms of the stream's start"),
            "expired");
      }
    } finally {
      lock.unlock();
    }
  }

  /** Ends the stream with {@code status} (OK completes it after what is queued) and frees it. */
  void terminate(Status status, String how) {
    lock.lock();
    try {
      if (ended) {
        return;
      }
      if (stepInFlight) {
        if (endAfterStep == null) {
          endAfterStep = () -> terminate(status, how);
        }
        return;
      }
      ended = true;
      if (status.isOk()) {
        out.settle(); // pull a streaming KV export before its cache is closed
      }
      // Free first, so a UE that sees the end can rely on the session being gone.
      release(how);
      try {
        if (status.isOk()) {
          out.complete();
        } else {
          out.fail(status);
        }
      } catch (RuntimeException e) {
        log.debug("session {}: could not send {}: {}", state.id, status.getCode(), e.toString());
      }
    } finally {
      lock.unlock();
    }
  }

  private void release(String how) {
    service.table().removeStream(this);
    if (registered) {
      service.table().unregister(this);
      registered = false;
    }
    state.free();
    service.pilotHandler().sessionEnded(state.id);
    service.metrics().sessionEnded(how);
  }

  private void finish(SessionDone.Reason reason) {
    out.send(
        EdgeMessage.newBuilder()
            .setDone(
                SessionDone.newBuilder()
                    .setSessionId(state.id)
                    .setReason(reason)
                    .setTokens(state.generated))
            .build());
    terminate(Status.OK, "done");
  }

  private void open(SessionOpen o) {
    Sampler sampler = checks.open(o);
    try {
      service.authz().requireUe(o.getUeId());
    } catch (StatusRuntimeException e) {
      throw new SessionException(
          e.getStatus().getCode(), "other_ue", e.getStatus().getDescription());
    }
    state.id = o.getSessionId();
    SessionTable.Registration r = service.table().register(this);
    if (r != SessionTable.Registration.OK) {
      String wanted = state.id;
      state.id = "";
      if (r == SessionTable.Registration.FULL) {
        throw new SessionException(
            Status.Code.RESOURCE_EXHAUSTED,
            "max_sessions",
            "edge is at its session limit (" + service.config().maxSessions() + ")");
      }
      if (r == SessionTable.Registration.CLIENT_FULL) {
        throw new SessionException(
            Status.Code.RESOURCE_EXHAUSTED,
            "client_sessions",
            "client "
                + client
                + " holds its quota of "
                + service.table().limits().sessionsPerClient()
                + " sessions");
      }
      throw new SessionException(
          Status.Code.ALREADY_EXISTS,
          "duplicate_session",
          "session '" + wanted + "' is already live");
    }
    registered = true;
    opened = true;
    state.sampler = sampler;
    state.ueId = o.getUeId();
    state.mode = o.getMode();
    state.wireDtype = o.getWireDtype();
    state.split = o.getSplit();
    state.epoch = o.getEpoch();
    state.stopAtEos = o.getStopAtEos();
    int cap = service.config().maxNewTokens();
    state.maxNewTokens = o.getMaxNewTokens() == 0 ? cap : Math.min(o.getMaxNewTokens(), cap);
    state.cache = service.engine().newCache(state.split + 1, mc.numLayers());
    service.metrics().sessionOpened();
    out.send(
        EdgeMessage.newBuilder()
            .setAccepted(
                SessionAccepted.newBuilder()
                    .setSessionId(state.id)
                    .setModel(service.modelInfo())
                    .setSplit(state.split)
                    .setEpoch(state.epoch)
                    .setMaxNewTokens(state.maxNewTokens))
            .build());
  }

  /** A HiddenState: checks, KV reservation, the step, the reply, and the end when it is due. */
  private void hidden(HiddenState h) throws InterruptedException {
    checks.session(state, h.getSessionId());
    // loss evidence for the channel estimate: every received packet counts, even a refused one
    service.pilotHandler().onHidden(state.id, state.ueId, h);
    checks.epoch(state, h.getEpoch());
    switcher.requireNoPendingImport();
    float[] x = checks.hidden(state, h, h.hasIfToken() ? h.getFirstPosition() : state.nextPosition);
    int tokens = x.length / mc.hiddenSize();
    if (h.hasIfToken()) {
      boolean runs = checks.conditionHolds(state, h, tokens);
      service.metrics().conditionalRow(runs);
      if (!runs) {
        return; // sent ahead on a wrong guess: dropped, the UE sends the right step next
      }
    }
    state.reserveFor(state.nextPosition + tokens, mc.numLayers() - state.split);
    service.metrics().hiddenBytes(h.getTensor().getData().size());
    if (h.getDraftIdsCount() > 0) {
      // speculative: on this thread, never through the decode batcher (SpecVerifier)
      replied(service.spec().run(state, h, x, client));
      return;
    }
    if (service.steps().async()) {
      long t0 = System.nanoTime();
      stepInFlight = true;
      service
          .steps()
          .submit(state, h, x, client)
          .whenComplete((step, error) -> stepDone(h, step, error, t0));
      return;
    }
    replied(service.steps().run(state, h, x, client));
  }

  /**
   * The batcher answered a decode step (on its thread): the reply (unless the UE went away
   * meanwhile), then the end that waited for the step if any, then the next message.
   */
  private void stepDone(HiddenState h, DecodeBatcher.Step step, Throwable error, long t0) {
    lock.lock();
    try {
      stepInFlight = false;
      Runnable end = endAfterStep;
      endAfterStep = null;
      try {
        if (ended || end == cancelAfterStep) {
          return;
        }
        if (error != null) {
          Throwable cause = error.getCause() != null ? error.getCause() : error;
          if (cause instanceof InterruptedException
              || cause instanceof CancellationException
              || cause instanceof RejectedExecutionException) {
            terminate(Status.UNAVAILABLE.withDescription("edge shutting down"), "error");
          } else {
            internalError(
                cause instanceof RuntimeException re ? re : new IllegalStateException(cause));
          }
          return;
        }
        replied(service.steps().reply(state, h, step.hidden(), step.logits(), t0));
      } catch (SessionException e) {
        service.metrics().rejected(e.reason());
        terminate(e.status(), "rejected");
      } catch (RuntimeException e) {
        internalError(e);
      } finally {
        if (end != null) {
          end.run();
        }
      }
    } finally {
      try {
        requestNext();
      } finally {
        lock.unlock();
      }
    }
  }

  /** After a step: KV accounting, the reply, and the end when it is due. */
  private void replied(EdgeMessage reply) {
    state.syncHeld();
    if (reply == null) {
      return;
    }
    StepMark.at(Point.EDGE_REPLY_BEGIN);
    out.send(reply);
    StepMark.at(Point.EDGE_REPLY_END);
    if (reply.hasToken() || reply.hasVerified()) {
      Token last =
          reply.hasToken()
              ? reply.getToken()
              : reply.getVerified().getTokens(reply.getVerified().getTokensCount() - 1);
      state.lastTokenId = last.getId();
      state.lastTokenPosition = last.getPosition();
      if (last.getEos() && state.stopAtEos) {
        finish(SessionDone.Reason.REASON_EOS);
      } else if (state.generated >= state.maxNewTokens) {
        finish(SessionDone.Reason.REASON_MAX_TOKENS);
      } else if (state.nextPosition >= mc.maxPositions()) {
        finish(SessionDone.Reason.REASON_CONTEXT_FULL);
      }
    }
  }

  private void pilot(Pilot p) {
    checks.session(state, p.getSessionId());
    try {
      service
          .pilotHandler()
          .onPilot(state.id, state.ueId, p)
          .ifPresent(e -> out.send(EdgeMessage.newBuilder().setChannelEstimate(e).build()));
    } catch (IllegalArgumentException e) {
      throw SessionException.invalid("bad_pilot", "pilot: " + e.getMessage());
    }
  }
}
