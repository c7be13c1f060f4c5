package io.splitinfer.controller.service;

import io.grpc.Status;
import io.grpc.StatusException;
import io.micrometer.core.instrument.MeterRegistry;
import io.splitinfer.controller.pool.EdgePool;
import io.splitinfer.controller.store.ControllerJournal;
import io.splitinfer.core.channel.ChannelState;
import io.splitinfer.core.objective.WeightFormatCost;
import io.splitinfer.proto.v1.EdgeRegistration;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@link SplitControllerService} and its collaborators share: the settings fixed at start, the
 * registry of UEs ({@link Ue}) and edges, the policy in force, the epoch counter and the declared /
 * true channel states. Every mutable field is guarded by {@link #lock}, the one lock of the service
 * (calls under it are short); the collaborators ({@link Registrations}, {@link UeDecisions}, {@link
 * ChannelReporting}, {@link OperatorControls}) take it exactly where the service took its monitor
 * before they were split out. Package-private: the gRPC surface is the service.
 */
final class ControllerState {
  /** The service's logger: the collaborators log under the service's name, as before the split. */
  static final Logger log = LoggerFactory.getLogger(SplitControllerService.class);

  /** The one lock of the service and its collaborators. */
  final Object lock = new Object();

  final PolicyFactory factory;
  final Hysteresis hysteresis;
  final int initialSplit;
  final Clock clock;
  final MeterRegistry metrics;
  final ChannelSource source;
  final ChannelFusion.Config fusion;
  final Map<String, Ue> ues = new LinkedHashMap<>();
  final Map<String, EdgeRegistration> edges = new HashMap<>();
  final DecisionWatchers watchers;
  final AtomicInteger ueGauge = new AtomicInteger();
  final PrivacyFloor privacy = new PrivacyFloor();
  final PolicyFormatGate formatGate;
  final EdgePool pool;
  SplitPolicy policy;
  ControllerJournal journal = ControllerJournal.NONE;
  long lastEpoch; // newest epoch committed for any UE (restored ones included)
  RegistrationLimits limits = RegistrationLimits.defaults();
  SpecDepth spec = SpecDepth.OFF;
  ChannelState declaredForAll;
  ChannelState truth;

  /** One registered UE: its registration, decision in force, channel and hysteresis state. */
  static final class Ue {
    UeRegistration reg;
    int minSplit;
    int maxSplit;
    SplitDecision decision;
    boolean pinned;
    final ChannelFusion channel;
    final Set<Integer> left = new HashSet<>(); // splits left under the state in force
    int pendingSplit = -1;
    int pendingCount;
    long lastChangeMs = Long.MIN_VALUE / 2;
    PrivacyFloor.Floor ownFloor = PrivacyFloor.Floor.NONE;
    int wanted = -1; // the policy's proposal before the privacy floor, for the commit's reason
    long lastSeenMs;
    String weightFormat = WeightFormatCost.DEFAULT; // canonical, from the registration
    SplitPolicy refusedPolicy; // the policy whose format refusal was last logged and counted

    Ue(ChannelFusion.Config fusion) {
      this.channel = new ChannelFusion(fusion);
    }
  }

  ControllerState(
      SplitPolicy policy,
      PolicyFactory factory,
      Hysteresis hysteresis,
      int initialSplit,
      Clock clock,
      MeterRegistry metrics,
      ChannelSource source,
      ChannelFusion.Config fusion) {
    this.policy = policy;
    this.factory = factory;
    this.hysteresis = hysteresis;
    this.initialSplit = initialSplit;
    this.clock = clock;
    this.metrics = metrics;
    this.source = source;
    this.fusion = fusion;
    this.formatGate = new PolicyFormatGate(metrics);
    this.watchers =
        new DecisionWatchers(
            () -> metrics.counter("controller_decisions_superseded_total").increment());
    metrics.gauge("controller_ues", ueGauge);
    this.pool = new EdgePool(clock, Duration.ofSeconds(5), metrics);
  }

  /** A new, unregistered UE entry. */
  Ue newUe() {
    return new Ue(fusion);
  }

  /** The privacy floor in force for {@code u} (operator's or its own). Under the lock. */
  PrivacyFloor.Floor floorOf(Ue u) {
    return privacy.floorFor(u.reg.getUeId(), u.ownFloor);
  }

  /** Forgets UEs idle longer than the registration TTL that nobody watches. Under the lock. */
  void expireIdle() {
    long now = clock.millis();
    int before = ues.size();
    ues.values()
        .removeIf(
            u -> {
              boolean idle =
                  now - u.lastSeenMs > limits.ttl().toMillis()
                      && !watchers.watched(u.reg.getUeId());
              if (idle) {
                pool.unplace(u.reg.getUeId());
              }
              return idle;
            });
    if (ues.size() < before) {
      metrics.counter("controller_ues_expired_total").increment(before - ues.size());
      ueGauge.set(ues.size());
    }
  }

  static StatusException notFound(String ueId) {
    return Status.NOT_FOUND.withDescription("unknown UE '" + ueId + "'").asException();
  }

  static String fmt(double v) {
    return String.format(java.util.Locale.ROOT, "%.4f", v);
  }
}
