package io.splitinfer.edge;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Supplier;

/** The edge's Micrometer meters: sessions, tokens, step latency, rejected inputs by reason. */
public final class EdgeMetrics {
  private final MeterRegistry registry;
  private final Counter sessionsOpened;
  private final Counter tokens;
  private final Counter scoredRows;
  private final Counter bytesIn;
  private final Timer prefillTimer;
  private final Timer prefillWaitTimer;
  private final Timer decodeTimer;
  private final Timer switchTimer;
  private final DistributionSummary batchSize;
  private final Counter reaperFailures;
  private final ConcurrentMap<String, Counter> rejected = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Counter> ended = new ConcurrentHashMap<>();

  public EdgeMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.sessionsOpened =
        Counter.builder("edge_sessions_opened").description("Sessions accepted").register(registry);
    this.tokens =
        Counter.builder("edge_tokens_generated").description("Tokens sampled").register(registry);
    this.scoredRows =
        Counter.builder("edge_rows_scored")
            .description("Positions scored in SCORE mode")
            .register(registry);
    this.bytesIn =
        Counter.builder("edge_hidden_bytes_received")
            .description("Hidden-state tensor payload bytes received")
            .register(registry);
    this.prefillWaitTimer =
        Timer.builder("edge_prefill_wait")
            .description("Time a prefill chunk waited for admission (PrefillGate)")
            .register(registry);
    this.prefillTimer =
        Timer.builder("edge_step_latency")
            .tag("kind", "prefill")
            .description("Edge compute time per HiddenState (layers p+1..L + head)")
            .publishPercentiles(0.5, 0.95, 0.99)
            .register(registry);
    this.decodeTimer =
        Timer.builder("edge_step_latency")
            .tag("kind", "decode")
            .description("Edge compute time per HiddenState (layers p+1..L + head)")
            .publishPercentiles(0.5, 0.95, 0.99)
            .register(registry);
    this.switchTimer =
        Timer.builder("edge_split_switch_latency")
            .description("Time from SplitSwitch to SplitSwitchAck")
            .register(registry);
    this.reaperFailures =
        Counter.builder("edge_reaper_failures")
            .description("Failed runs of the idle reaper (logged; the reaper keeps running)")
            .register(registry);
    this.batchSize =
        DistributionSummary.builder("edge_decode_batch_size")
            .description("Decode steps run together per runLayersBatch call")
            .register(registry);
  }

  /** Registers gauges for live sessions, reserved KV bytes and KV bytes the caches hold. */
  void bindGauges(
      Supplier<Number> liveSessions, Supplier<Number> kvReserved, Supplier<Number> kvHeld) {
    Gauge.builder("edge_sessions_active", liveSessions).register(registry);
    Gauge.builder("edge_kv_bytes", kvReserved)
        .description("KV bytes reserved against the budget (positions x layers, logical)")
        .baseUnit("bytes")
        .register(registry);
    Gauge.builder("edge_kv_held_bytes", kvHeld)
        .description("KV bytes the session caches actually hold (KvCache.bytes())")
        .baseUnit("bytes")
        .register(registry);
  }

  /** Counts one failed run of a periodic task (the idle reaper). */
  void reaperFailure() {
    reaperFailures.increment();
  }

  /** Failed runs of periodic tasks so far. */
  public double reaperFailures() {
    return reaperFailures.count();
  }

  void sessionOpened() {
    sessionsOpened.increment();
  }

  void sessionEnded(String how) {
    ended
        .computeIfAbsent(
            how,
            h ->
                Counter.builder("edge_sessions_ended")
                    .tag("how", h)
                    .description("Sessions ended, by how")
                    .register(registry))
        .increment();
  }

  /** Counts one refused input. */
  public void rejected(String reason) {
    rejected
        .computeIfAbsent(
            reason,
            r ->
                Counter.builder("edge_rejected_inputs")
                    .tag("reason", r)
                    .description("Inputs refused, by reason")
                    .register(registry))
        .increment();
  }

  /** Count of refused inputs for one reason (0 if none). */
  public double rejectedCount(String reason) {
    Counter c = rejected.get(reason);
    return c == null ? 0 : c.count();
  }

  void token() {
    tokens.increment();
  }

  void scored(int rows) {
    scoredRows.increment(rows);
  }

  void hiddenBytes(long n) {
    bytesIn.increment(n);
  }

  void step(boolean decode, long nanos) {
    (decode ? decodeTimer : prefillTimer).record(Duration.ofNanos(nanos));
  }

  void prefillWait(long nanos) {
    prefillWaitTimer.record(Duration.ofNanos(nanos));
  }

  /** One split switch that moved layers with KV, by how: edge_switch_method_total{method}. */
  void switchMethod(io.splitinfer.proto.v1.SwitchMethod method) {
    Counter.builder("edge_switch_method_total")
        .tag(
            "method",
            method == io.splitinfer.proto.v1.SwitchMethod.SWITCH_METHOD_RECOMPUTE
                ? "recompute"
                : "transfer")
        .description("Split switches that moved layers, by KV method (transfer or recompute)")
        .register(registry)
        .increment();
  }

  void splitSwitch(long nanos) {
    switchTimer.record(Duration.ofNanos(nanos));
  }

  /** A speculative step verified: {@code drafted} draft ids, {@code accepted} of them taken. */
  void speculative(int drafted, int accepted) {
    Counter.builder("edge_spec_steps")
        .description("Speculative steps verified")
        .register(registry)
        .increment();
    Counter.builder("edge_spec_drafted_tokens")
        .description("Draft ids received in speculative steps")
        .register(registry)
        .increment(drafted);
    Counter.builder("edge_spec_accepted_tokens")
        .description("Draft ids accepted by verification")
        .register(registry)
        .increment(accepted);
  }

  /**
   * A row sent ahead (HiddenState.if_token) whose condition was decided: {@code ran} when the token
   * was the guess and the row ran as a decode step, else dropped.
   */
  void conditionalRow(boolean ran) {
    Counter.builder("edge_conditional_rows")
        .description("Rows sent ahead on a guessed token (HiddenState.if_token), by outcome")
        .tag("outcome", ran ? "ran" : "dropped")
        .register(registry)
        .increment();
  }

  /** Rows sent ahead with that outcome so far over all sessions (edge_conditional_rows). */
  public double conditionalRows(String outcome) {
    Counter c = registry.find("edge_conditional_rows").tag("outcome", outcome).counter();
    return c == null ? 0 : c.count();
  }

  /** Draft ids accepted so far over all sessions (edge_spec_accepted_tokens). */
  public double specAccepted() {
    Counter c = registry.find("edge_spec_accepted_tokens").counter();
    return c == null ? 0 : c.count();
  }

  void batch(int n) {
    batchSize.record(n);
  }

  public MeterRegistry registry() {
    return registry;
  }
}
