package io.splitinfer.ue.openai;

import io.grpc.Channel;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.ue.ControllerSplitSource;
import io.splitinfer.ue.SplitSource;
import io.splitinfer.ue.UeClient;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The split for each request of a long-running UE that follows the controller: registers once (in
 * the background, retrying with backoff, so the endpoint serves at {@code fallback} while the edge
 * or the controller is not up yet), then hands every request a view of the controller's latest
 * decision. A request's generation applies a decision with a newer epoch at its next token
 * boundary; the decision's effective_step is not used, since the UE's sessions each count their own
 * steps.
 */
public final class ControllerSplits implements Supplier<SplitSource>, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ControllerSplits.class);
  private final UeClient edge;
  private final Channel controller;
  private final String ueId;
  private final String edgeId;
  private final int fallback;
  private volatile ControllerSplitSource source;
  private volatile Function<ModelInfo, String> weightFormat = info -> "";
  private Thread registrar;

  public ControllerSplits(
      UeClient edge, Channel controller, String ueId, String edgeId, int fallback) {
    this.edge = edge;
    this.controller = controller;
    this.ueId = ueId;
    this.edgeId = edgeId;
    this.fallback = fallback;
  }

  /**
   * The weight format to register (UeRegistration.weight_format; "" = f32), from the edge's model
   * info (which gives the UE's split range).
   */
  public ControllerSplits withWeightFormat(Function<ModelInfo, String> format) {
    this.weightFormat = format;
    return this;
  }

  /** Starts registering in the background. */
  public ControllerSplits start() {
    registrar = new Thread(this::register, "controller-registrar");
    registrar.setDaemon(true);
    registrar.start();
    return this;
  }

  private void register() {
    long backoffMs = 500;
    while (!Thread.currentThread().isInterrupted()) {
      try {
        ModelInfo info = edge.modelInfo();
        source =
            ControllerSplitSource.start(
                controller, ueId, edgeId, info, -1, weightFormat.apply(info));
        log.info("registered with the controller as {}; following its splits", ueId);
        return;
      } catch (RuntimeException e) {
        log.info("controller registration failed ({}); retrying in {} ms", e.toString(), backoffMs);
        try {
          Thread.sleep(backoffMs);
        } catch (InterruptedException ie) {
          return;
        }
        backoffMs = Math.min(backoffMs * 2, 10_000);
      }
    }
  }

  /** Whether the controller registration succeeded. */
  public boolean registered() {
    return source != null;
  }

  @Override
  public SplitSource get() {
    ControllerSplitSource s = source;
    if (s == null) {
      return SplitSource.fixed(fallback);
    }
    return step -> s.current(Long.MAX_VALUE);
  }

  @Override
  public void close() {
    if (registrar != null) {
      registrar.interrupt();
    }
    ControllerSplitSource s = source;
    if (s != null) {
      s.close();
    }
  }
}
