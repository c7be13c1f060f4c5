package io.splitinfer.controller.live;

import io.splitinfer.controller.service.SplitPolicy;
import io.splitinfer.core.objective.Objective;

/**
 * The online experiment's oracle: jumps straight to p* = argmin_p PPL(p; σ, P) + λ·Ĉ_UE(p) (eq. 7)
 * with PPL from a {@link PplTable} measured through the real pipeline. It is only an oracle when
 * the controller feeds it the true channel ({@code --channel-source channel-sim}); the table is
 * read from a file at startup, never from the wire.
 */
public final class TableOraclePolicy implements SplitPolicy {
  private final PplTable table;
  private final Objective objective;
  private final String source;

  public TableOraclePolicy(PplTable table, Objective objective, String source) {
    this.table = table;
    this.objective = objective;
    this.source = source;
  }

  @Override
  public int propose(double sigma, double sigmaH, int currentSplit, int minSplit, int maxSplit) {
    double loss = PplTable.lossOf(sigmaH);
    int lo = Math.max(minSplit, table.minSplit());
    int hi = Math.min(maxSplit, Math.min(table.maxSplit(), objective.cost().numLayers()));
    if (lo > hi) {
      return Math.max(minSplit, Math.min(maxSplit, currentSplit));
    }
    return objective.argmin(p -> table.ppl(sigma, loss, p), lo, hi);
  }

  @Override
  public String name() {
    return "oracle-table";
  }

  @Override
  public String checkpoint() {
    return source;
  }
}
