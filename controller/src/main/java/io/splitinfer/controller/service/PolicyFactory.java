package io.splitinfer.controller.service;

import io.splitinfer.controller.live.PplTable;
import io.splitinfer.controller.live.TableOraclePolicy;
import io.splitinfer.controller.ppo.PpoCheckpoint;
import io.splitinfer.controller.reward.SurrogateReward;
import io.splitinfer.core.objective.Objective;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Builds live policies by name. Checkpoints and the surrogate are read from files when given,
 * otherwise from the defaults shipped in the controller jar ({@value #DEFAULT_POLICY}, {@value
 * #DEFAULT_SURROGATE}). A remote caller ({@code SetPolicy}) chooses only by name ({@link
 * #forRequest}): the policy kind, and a checkpoint among those named at startup ({@code
 * --checkpoint-named NAME=PATH}); it never gives a path, so the controller reads no file a caller
 * chose.
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
  private final Map<String, String> named;
  private final Function<String, PpoCheckpoint> loader;
  private int ppoMoves = 1;

  /**
   * @param defaultCheckpoint PPO checkpoint file used when a request names none ("" = the jar's)
   * @param surrogatePath surrogate file for the oracle ("" = the jar's)
   * @param fixedSplit split of the fixed policy (−1 = middle of each UE's range)
   * @param seed seed of the random policy
   */
  public PolicyFactory(String defaultCheckpoint, String surrogatePath, int fixedSplit, long seed) {
    this(
        defaultCheckpoint,
        surrogatePath,
        fixedSplit,
        seed,
        "",
        Map.of(),
        PolicyFactory::loadCheckpoint);
  }

  /** With the oracle-table policy's measured PPL table at {@code pplTablePath}. */
  public PolicyFactory(
      String defaultCheckpoint,
      String surrogatePath,
      int fixedSplit,
      long seed,
      String pplTablePath) {
    this(
        defaultCheckpoint,
        surrogatePath,
        fixedSplit,
        seed,
        pplTablePath,
        Map.of(),
        PolicyFactory::loadCheckpoint);
  }

  /** With checkpoints a remote caller may choose by name, read through {@code loader}. */
  public PolicyFactory(
      String defaultCheckpoint,
      String surrogatePath,
      int fixedSplit,
      long seed,
      Map<String, String> named,
      Function<String, PpoCheckpoint> loader) {
    this(defaultCheckpoint, surrogatePath, fixedSplit, seed, "", named, loader);
  }

  /**
   * @param pplTablePath measured PPL table (records CSV) of the oracle-table policy ("" = the
   *     jar's, {@value #DEFAULT_PPL_TABLE}: docs/records-default-model.csv)
   * @param named checkpoints a remote caller may choose, name to file path (fixed at startup)
   * @param loader reads a checkpoint by path ("" = the jar's); tests pass one that records reads
   */
  public PolicyFactory(
      String defaultCheckpoint,
      String surrogatePath,
      int fixedSplit,
      long seed,
      String pplTablePath,
      Map<String, String> named,
      Function<String, PpoCheckpoint> loader) {
    this.pplTablePath = pplTablePath == null ? "" : pplTablePath;
    this.defaultCheckpoint = defaultCheckpoint == null ? "" : defaultCheckpoint;
    this.surrogatePath = surrogatePath == null ? "" : surrogatePath;
    this.fixedSplit = fixedSplit;
    this.seed = seed;
    this.named = Map.copyOf(named);
    this.loader = loader;
    for (String n : this.named.keySet()) {
      if (!NAME.matcher(n).matches()) {
        throw new IllegalArgumentException(
            "checkpoint name '" + n + "' must match " + NAME.pattern());
      }
    }
  }

  /** A checkpoint name: letters, digits, '.', '_', '-'; no path separators. */
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  /** Names of the checkpoints a caller may choose (sorted). */
  public List<String> checkpointNames() {
    return new TreeSet<>(named.keySet()).stream().toList();
  }

  /**
   * A policy for a remote request: {@code checkpointName} empty (the startup checkpoint) or one of
   * {@link #checkpointNames()}. Anything else, a path above all, is refused before any file is
   * touched.
   *
   * @throws IllegalArgumentException unknown policy or checkpoint name
   */
  public SplitPolicy forRequest(String policy, String checkpointName) {
    String c = checkpointName == null ? "" : checkpointName.strip();
    if (c.isEmpty()) {
      return create(policy, "");
    }
    String path = NAME.matcher(c).matches() ? named.get(c) : null;
    if (path == null) {
      throw new IllegalArgumentException(
          "checkpoint must be the name of one the controller was started with"
              + " (--checkpoint-named NAME=PATH), not a path; available "
              + checkpointNames());
    }
    return create(policy, path);
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
            loader.apply(cp), cp.isEmpty() ? "classpath:" + DEFAULT_POLICY : cp, ppoMoves);
      case "oracle":
        {
          PpoCheckpoint c = loader.apply(cp);
          SurrogateReward s = loadSurrogate(surrogatePath);
          // λ and dims of the checkpoint, the UE cost of the surrogate's format (the UEs it serves)
          Objective o = Policies.objectiveOf(c);
          return Policies.oracle(
              s,
              new Objective(o.cost().withWeightFormat(s.weightFormat()), o.lambda()),
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
