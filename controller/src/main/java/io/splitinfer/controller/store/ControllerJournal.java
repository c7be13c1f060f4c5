package io.splitinfer.controller.store;

import io.splitinfer.proto.v1.EdgeRegistration;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the SplitController service writes what must survive a restart: registrations, committed
 * decisions and the policy choice. {@link ControllerStore} writes them to the records database;
 * {@link #NONE} keeps nothing (tests, {@code serve --db none}).
 */
public interface ControllerJournal extends AutoCloseable {
  /** A UE (re-)registered; {@code minSplit..maxSplit} is the range as accepted. */
  void ue(UeRegistration reg, int minSplit, int maxSplit, long atMs);

  /** An edge (re-)registered. */
  void edge(EdgeRegistration reg, long atMs);

  /** A decision was committed (its epoch is the newest of its UE). */
  void decision(SplitDecision d);

  /** SetPolicy changed the policy in force. */
  void policy(String name, String checkpoint, long atMs);

  @Override
  void close();

  ControllerJournal NONE =
      new ControllerJournal() {
        @Override
        public void ue(UeRegistration reg, int minSplit, int maxSplit, long atMs) {}

        @Override
        public void edge(EdgeRegistration reg, long atMs) {}

        @Override
        public void decision(SplitDecision d) {}

        @Override
        public void policy(String name, String checkpoint, long atMs) {}

        @Override
        public void close() {}
      };

  /**
   * {@code journal} whose write failures (a database that went away) are logged and reported to
   * {@code onFailure} instead of thrown: the controller keeps serving from memory, and its epochs
   * (≥ wall-clock ms) keep growing either way.
   */
  static ControllerJournal failSoft(ControllerJournal journal, Runnable onFailure) {
    Logger log = LoggerFactory.getLogger(ControllerJournal.class);
    return new ControllerJournal() {
      private void guard(String what, Runnable write) {
        try {
          write.run();
        } catch (RuntimeException e) {
          onFailure.run();
          log.warn("could not persist {}: {}", what, e.getMessage());
        }
      }

      @Override
      public void ue(UeRegistration reg, int minSplit, int maxSplit, long atMs) {
        guard("UE " + reg.getUeId(), () -> journal.ue(reg, minSplit, maxSplit, atMs));
      }

      @Override
      public void edge(EdgeRegistration reg, long atMs) {
        guard("edge " + reg.getEdgeId(), () -> journal.edge(reg, atMs));
      }

      @Override
      public void decision(SplitDecision d) {
        guard("decision of " + d.getUeId(), () -> journal.decision(d));
      }

      @Override
      public void policy(String name, String checkpoint, long atMs) {
        guard("policy " + name, () -> journal.policy(name, checkpoint, atMs));
      }

      @Override
      public void close() {
        journal.close();
      }
    };
  }
}
