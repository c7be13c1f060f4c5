package io.splitinfer.controller.service;

import io.splitinfer.controller.live.PplTable;
import io.splitinfer.controller.live.TableOraclePolicy;
import io.splitinfer.controller.ppo.PpoCheckpoint;
import io.splitinfer.controller.reward.SurrogateReward;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * Builds live policies by name. Checkpoints and the surrogate are read from files when given,
 * otherwise from the defaults shipped in the controller jar ({@value #DEFAULT_POLICY}, {@value
 * #DEFAULT_SURROGATE}).
 */
public final class PolicyFactory {
  public static final String DEFAULT_POLICY = "/io/splitinfer/controller/default-policy.json";
  public static final String DEFAULT_SURROGATE = "/io/splitinfer/controller/default-surrogate.json";
  public static final String DEFAULT_PPL_TABLE = "/io/splitinfer/controller/default-ppl-table.csv";
  public static final List<String> AVAILABLE =
      List.of("ppo", "fixed", "random", "oracle", "oracle-table");

  private final String defaultCheckpoint;
  private final String surrogatePath;
  private final int fixedSplit;
  private final long seed;
  private final String pplTablePath;
  private int ppoMoves = 1;

  /**
   * @param defaultCheckpoint PPO checkpoint file used when a request names none ("" = the jar's)
   * @param surrogatePath surrogate file for the oracle ("" = the jar's)
   * @param fixedSplit split of the fixed policy (−1 = middle of each UE's range)
   * @param seed seed of the random policy
   */
  public PolicyFactory(String defaultCheckpoint, String surrogatePath, int fixedSplit, long seed) {
    this(defaultCheckpoint, surrogatePath, fixedSplit, seed, "");
  }

  /**
   * @param pplTablePath measured PPL table (records CSV) of the oracle-table policy ("" = the
   *     jar's, {@value #DEFAULT_PPL_TABLE}: docs/records-default-model.csv)
   */
  public PolicyFactory(
      String defaultCheckpoint,
      String surrogatePath,
      int fixedSplit,
      long seed,
      String pplTablePath) {
    this.pplTablePath = pplTablePath == null ? "" : pplTablePath;
    this.defaultCheckpoint = defaultCheckpoint == null ? "" : defaultCheckpoint;
    this.surrogatePath = surrogatePath == null ? "" : surrogatePath;
    this.fixedSplit = fixedSplit;
    this.seed = seed;
  }

  /**
   * Most layers a PPO decision may move (the actor rolled forward on one state, {@link
   * Policies#ppo(PpoCheckpoint, String, int)}); 1 = the MDP's one move per decision.
   */
  public PolicyFactory ppoMoves(int maxMoves) {
    if (maxMoves < 1) {
      throw new IllegalArgumentException("ppo moves must be >= 1, got " + maxMoves);
    }
    this.ppoMoves = maxMoves;
    return this;
  }

  /**
   * A policy by name; {@code checkpoint} overrides the default checkpoint for ppo/oracle.
   *
   * @throws IllegalArgumentException unknown name
   * @throws UncheckedIOException a checkpoint that cannot be read
   */
  public SplitPolicy create(String name, String checkpoint) {
    String n = name == null || name.isBlank() ? "ppo" : name.trim().toLowerCase(Locale.ROOT);
    String cp = checkpoint == null || checkpoint.isBlank() ? defaultCheckpoint : checkpoint;
    switch (n) {
      case "fixed":
        return Policies.fixed(fixedSplit);
      case "random":
        return Policies.random(seed);
      case "ppo":
        return Policies.ppo(
            loadCheckpoint(cp), cp.isEmpty() ? "classpath:" + DEFAULT_POLICY : cp, ppoMoves);
      case "oracle":
        {
          PpoCheckpoint c = loadCheckpoint(cp);
          SurrogateReward s = loadSurrogate(surrogatePath);
          return Policies.oracle(
              s,
              Policies.objectiveOf(c),
              surrogatePath.isEmpty() ? "classpath:" + DEFAULT_SURROGATE : surrogatePath);
        }
      case "oracle-table":
        return oracleTable(loadCheckpoint(cp));
      default:
        throw new IllegalArgumentException("unknown policy '" + name + "'; available " + AVAILABLE);
    }
  }

  private SplitPolicy oracleTable(PpoCheckpoint c) {
    try {
      if (pplTablePath.isEmpty()) {
        return new TableOraclePolicy(
            PplTable.loadResource(DEFAULT_PPL_TABLE),
            Policies.objectiveOf(c),
            "classpath:" + DEFAULT_PPL_TABLE);
      }
      return new TableOraclePolicy(
          PplTable.load(Path.of(pplTablePath)), Policies.objectiveOf(c), pplTablePath);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "cannot load PPL table " + pplTablePath + ": " + e.getMessage(), e);
    }
  }

  public static PpoCheckpoint loadCheckpoint(String path) {
    try {
      if (path == null || path.isEmpty()) {
        try (InputStream in = PolicyFactory.class.getResourceAsStream(DEFAULT_POLICY)) {
          if (in == null) {
            throw new IOException("no default checkpoint in the jar (" + DEFAULT_POLICY + ")");
          }
          return PpoCheckpoint.read(in);
        }
      }
      return PpoCheckpoint.load(Path.of(path));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load checkpoint " + path + ": " + e.getMessage(), e);
    }
  }

  public static SurrogateReward loadSurrogate(String path) {
    try {
      if (path == null || path.isEmpty()) {
        try (InputStream in = PolicyFactory.class.getResourceAsStream(DEFAULT_SURROGATE)) {
          if (in == null) {
            throw new IOException("no default surrogate in the jar (" + DEFAULT_SURROGATE + ")");
          }
          return SurrogateReward.read(in);
        }
      }
      return SurrogateReward.load(Path.of(path));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot load surrogate " + path + ": " + e.getMessage(), e);
    }
  }
}
