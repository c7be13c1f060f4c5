package io.splitinfer.controller.live;

import java.nio.file.Path;
import java.util.List;

/**
 * Settings of one online experiment.
 *
 * @param jars directory holding {@code edge-server.jar}, {@code channel-sim.jar}, {@code
 *     ue-client.jar} and {@code controller.jar} (or the repository root: {@code * /target/*.jar})
 * @param out output directory (tables, per-step CSVs, PNGs, process logs)
 * @param scenarios live scenario names ({@link LiveScenarios#NAMES})
 * @param seeds scenario seeds (channel-sim's LoadScenario seed)
 * @param policies {@code ppo}, {@code oracle}, {@code fixed-P}
 * @param tokens held-out tokens scored per run
 * @param stepTokens tokens per scored step (one hidden-state message, one scenario tick)
 * @param segmentTicks length of a drift segment in ticks
 * @param pplTable measured PPL table (records CSV) for the oracle; null: the controller jar's
 * @param corpus held-out text the UE scores
 * @param ppoControllerArgs extra {@code controller serve} flags for the live PPO controller
 * @param oracleControllerArgs extra {@code controller serve} flags for the oracle's controller
 * @param edgeArgs extra {@code edge-server} flags (e.g. its channel-report cadence)
 * @param ueArgs extra {@code ue-client eval-ppl} flags for every run (e.g. pilots)
 * @param runTimeoutS per-run limit for the UE
 */
public record LiveConfig(
    Path jars,
    Path out,
    List<String> scenarios,
    List<Long> seeds,
    List<String> policies,
    int tokens,
    int stepTokens,
    int segmentTicks,
    Path pplTable,
    Path corpus,
    List<String> ppoControllerArgs,
    List<String> oracleControllerArgs,
    List<String> edgeArgs,
    List<String> ueArgs,
    int runTimeoutS) {
  public LiveConfig {
    scenarios = List.copyOf(scenarios);
    seeds = List.copyOf(seeds);
    policies = List.copyOf(policies);
    ppoControllerArgs = List.copyOf(ppoControllerArgs);
    oracleControllerArgs = List.copyOf(oracleControllerArgs);
    edgeArgs = List.copyOf(edgeArgs);
    ueArgs = List.copyOf(ueArgs);
    if (scenarios.isEmpty() || seeds.isEmpty() || policies.isEmpty()) {
      throw new IllegalArgumentException("need at least one scenario, seed and policy");
    }
    if (tokens < 2 || stepTokens < 1) {
      throw new IllegalArgumentException("tokens must be >= 2 and step tokens >= 1");
    }
    for (String p : policies) {
      if (!p.equals("ppo") && !p.equals("oracle") && !p.matches("fixed-\\d+")) {
        throw new IllegalArgumentException("unknown policy '" + p + "' (ppo, oracle, fixed-P)");
      }
    }
    scenarios.forEach(s -> LiveScenarios.json(s, Math.max(1, segmentTicks)));
  }

  /** The jar of a module. */
  public Path jar(String module) {
    Path direct = jars.resolve(module + ".jar");
    return direct.toFile().isFile()
        ? direct
        : jars.resolve(module).resolve("target").resolve(module + ".jar");
  }
}
