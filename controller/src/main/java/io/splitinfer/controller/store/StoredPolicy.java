package io.splitinfer.controller.store;

import io.splitinfer.controller.service.PolicyFactory;
import io.splitinfer.controller.service.SplitPolicy;
import java.io.UncheckedIOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The policy a (re)started controller begins with. */
public final class StoredPolicy {
  private static final Logger log = LoggerFactory.getLogger(StoredPolicy.class);

  private StoredPolicy() {}

  /**
   * The policy last chosen with SetPolicy, as stored in the records database, when there is one and
   * it still loads; otherwise {@code --policy}/{@code --checkpoint}. A stored choice that no longer
   * loads (a checkpoint file gone) is logged and the flags apply.
   */
  public static SplitPolicy initial(
      PolicyFactory factory, String flagPolicy, String flagCheckpoint, ControllerStore.Snapshot s) {
    if (s.policy().isPresent()) {
      ControllerStore.PolicyChoice c = s.policy().get();
      try {
        SplitPolicy p = factory.create(c.name(), c.checkpoint());
        log.info("policy {} {} restored from the records database", p.name(), p.checkpoint());
        return p;
      } catch (IllegalArgumentException | UncheckedIOException e) {
        log.warn(
            "stored policy '{}' ({}) does not load: {}; using --policy {}",
            c.name(),
            c.checkpoint(),
            e.getMessage(),
            flagPolicy);
      }
    }
    return factory.create(flagPolicy, flagCheckpoint);
  }
}
