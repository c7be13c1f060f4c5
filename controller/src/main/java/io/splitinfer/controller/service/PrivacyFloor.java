package io.splitinfer.controller.service;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The privacy floor: the smallest split the controller may give a UE, so that the hidden states on
 * the wire come from deep enough in the model. A floor comes from the operator (per UE, or a
 * default for every UE) and from the UE itself (at registration); the one in force is the largest.
 * Either side may give a split directly or a maximum token recovery rate, which {@link Table} maps
 * to a split with the recovery measured by {@code model privacy} (the shipped {@code
 * splitinfer/privacy/floor-table.csv}: per split, the best attack's recovery on the clean wire and
 * its upper 95 % bound).
 *
 * <p>The service asks {@link #floorFor} before committing any decision and uses {@link #bind}; the
 * split environment takes the same number as its {@code privacyFloor}. Thread-safe.
 */
public final class PrivacyFloor {
  /** Classpath resource of the measured table. */
  public static final String TABLE_RESOURCE = "splitinfer/privacy/floor-table.csv";

  /**
   * Measured recovery per split: {@code hi95[p]} is the upper 95 % bound of the best attack's token
   * recovery at split p.
   */
  public record Table(String source, double[] hi95) {
    public int numLayers() {
      return hi95.length - 1;
    }

    /**
     * The smallest p such that every split q >= p has hi95[q] <= maxRecovery (so any split the
     * policy picks at or above the floor meets the limit).
     *
     * @throws IllegalStateException when not even p = L meets it
     */
    public int minSplitFor(double maxRecovery) {
      if (!(maxRecovery >= 0 && maxRecovery <= 1)) {
        throw new IllegalArgumentException("max recovery must be in [0, 1], got " + maxRecovery);
      }
      int p = hi95.length;
      while (p > 0 && hi95[p - 1] <= maxRecovery) {
        p--;
      }
      if (p == hi95.length) {
        throw new IllegalStateException(
            String.format(
                Locale.ROOT,
                "no split keeps token recovery <= %.3f: the measured 95%% upper bound is %.3f at"
                    + " p = %d (%s)",
                maxRecovery,
                hi95[hi95.length - 1],
                hi95.length - 1,
                source));
      }
      return p;
    }

    /** Parses {@code split,max_recovery_rate,max_recovery_hi95} rows (p = 0..L, a header). */
    public static Table parse(String csv, String source) {
      List<double[]> rows = new ArrayList<>();
      for (String line : csv.split("\\R")) {
        String t = line.trim();
        if (t.isEmpty() || t.startsWith("#") || t.startsWith("split")) {
          continue;
        }
        String[] f = t.split(",");
        if (f.length < 3) {
          throw new IllegalArgumentException(source + ": bad row '" + t + "'");
        }
        rows.add(new double[] {Integer.parseInt(f[0].trim()), Double.parseDouble(f[2].trim())});
      }
      double[] hi = new double[rows.size()];
      for (int i = 0; i < hi.length; i++) {
        if ((int) rows.get(i)[0] != i) {
          throw new IllegalArgumentException(source + ": splits must be 0..L in order");
        }
        hi[i] = rows.get(i)[1];
      }
      if (hi.length < 2) {
        throw new IllegalArgumentException(
            source + ": need splits 0..L, got " + hi.length + " rows");
      }
      return new Table(source, hi);
    }

    /** The table shipped with the controller (measured on the embedded default model). */
    public static Table shipped() {
      try (InputStream in =
          PrivacyFloor.class.getClassLoader().getResourceAsStream(TABLE_RESOURCE)) {
        if (in == null) {
          throw new IllegalStateException("missing resource " + TABLE_RESOURCE);
        }
        return parse(
            new String(in.readAllBytes(), StandardCharsets.UTF_8),
            TABLE_RESOURCE + " (embedded default model)");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }

  /** A floor and where it came from. */
  public record Floor(int minSplit, String detail) {
    public static final Floor NONE = new Floor(0, "none");
  }

  private final Supplier<Table> tableSource;
  private Table table;
  private Floor defaultFloor = Floor.NONE;
  private final Map<String, Floor> operator = new HashMap<>();

  /** Floors mapped through {@link Table#shipped()} (loaded on first use). */
  public PrivacyFloor() {
    this(Table::shipped);
  }

  public PrivacyFloor(Supplier<Table> tableSource) {
    this.tableSource = tableSource;
  }

  public synchronized Table table() {
    if (table == null) {
      table = tableSource.get();
    }
    return table;
  }

  /**
   * A floor from either a split or (when {@code maxRecovery} is not null) a recovery rate, for a
   * model of {@code numLayers} layers.
   *
   * @throws IllegalArgumentException for a split outside 0..numLayers, a rate outside [0, 1], or a
   *     rate asked for a model the table was not measured on
   * @throws IllegalStateException when no split meets the rate
   */
  public Floor resolve(int minSplit, Double maxRecovery, int numLayers, String who) {
    if (maxRecovery != null) {
      Table t = table();
      if (numLayers > 0 && t.numLayers() != numLayers) {
        throw new IllegalArgumentException(
            "the recovery table ("
                + t.source()
                + ") was measured for "
                + t.numLayers()
                + " layers, not "
                + numLayers
                + "; give the floor as a split");
      }
      int p = t.minSplitFor(maxRecovery);
      return new Floor(
          p, String.format(Locale.ROOT, "%s: max recovery %s -> p >= %d", who, maxRecovery, p));
    }
    if (minSplit < 0 || (numLayers > 0 && minSplit > numLayers)) {
      throw new IllegalArgumentException(
          "privacy floor must be in 0.." + (numLayers > 0 ? numLayers : "L") + ", got " + minSplit);
    }
    return minSplit == 0 ? Floor.NONE : new Floor(minSplit, who + ": p >= " + minSplit);
  }

  /** Sets the operator's floor of one UE, or the default with a null/blank id. */
  public synchronized void setOperator(String ueId, Floor f) {
    if (ueId == null || ueId.isBlank()) {
      defaultFloor = f;
    } else {
      operator.put(ueId, f);
    }
  }

  /** The operator's floor for a UE (its own, else the default). */
  public synchronized Floor operatorFloor(String ueId) {
    return ueId == null || ueId.isBlank()
        ? defaultFloor
        : operator.getOrDefault(ueId, defaultFloor);
  }

  /** The floor in force: the larger of the operator's and the UE's own. */
  public Floor floorFor(String ueId, Floor ueOwn) {
    Floor op = operatorFloor(ueId);
    return ueOwn.minSplit() > op.minSplit() ? ueOwn : op;
  }

  /** The split to use for a proposal under a floor. */
  public static int bind(int proposal, int floor) {
    return Math.max(proposal, floor);
  }
}
