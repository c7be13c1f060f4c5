package io.splitinfer.controller.live;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * The experiment's table: per scenario and policy, the mean over seeds and a 95 % Student-t
 * interval (half-width) of the achieved objective, PPL, mean split, switches and stall time, plus
 * the objective's gap to the oracle and, per scenario, which fixed split was best.
 */
public final class Summary {
  private static final double[] T975 = {
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086
  };

  private Summary() {}

  /** Mean and 95 % half-width of a sample (half-width NaN for one value). */
  public record Stat(double mean, double half, int n) {
    static Stat of(List<RunResult> rs, ToDoubleFunction<RunResult> f) {
      return ofValues(rs.stream().map(r -> f.applyAsDouble(r)).toList());
    }

    static Stat ofValues(List<Double> v) {
      int n = v.size();
      double m = v.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
      if (n < 2) {
        return new Stat(m, Double.NaN, n);
      }
      double ss = v.stream().mapToDouble(x -> Math.pow(x - m, 2)).sum();
      double sd = Math.sqrt(ss / (n - 1));
      double t = n - 1 <= T975.length ? T975[n - 2] : 1.96;
      return new Stat(m, t * sd / Math.sqrt(n), n);
    }

    String md(String fmt) {
      String m = String.format(Locale.ROOT, fmt, mean);
      return Double.isNaN(half) ? m : m + " ± " + String.format(Locale.ROOT, fmt, half);
    }
  }

  /** One table row. */
  public record Row(
      String scenario,
      String policy,
      Stat objective,
      Stat ppl,
      Stat meanSplit,
      Stat switches,
      Stat stallMs,
      double gapToOraclePct) {}

  public static List<Row> rows(List<RunResult> results) {
    Map<String, Map<String, List<RunResult>>> by = new LinkedHashMap<>();
    for (RunResult r : results) {
      by.computeIfAbsent(r.scenario(), k -> new LinkedHashMap<>())
          .computeIfAbsent(r.policy(), k -> new ArrayList<>())
          .add(r);
    }
    List<Row> rows = new ArrayList<>();
    for (var sc : by.entrySet()) {
      List<RunResult> oracle = sc.getValue().get("oracle");
      double oracleObj = oracle == null ? Double.NaN : Stat.of(oracle, RunResult::objective).mean();
      for (var pol : sc.getValue().entrySet()) {
        List<RunResult> rs = pol.getValue();
        Stat obj = Stat.of(rs, RunResult::objective);
        rows.add(
            new Row(
                sc.getKey(),
                pol.getKey(),
                obj,
                Stat.of(rs, RunResult::ppl),
                Stat.of(rs, RunResult::meanSplit),
                Stat.of(rs, r -> r.switches()),
                Stat.of(rs, RunResult::stallMs),
                100 * (obj.mean() - oracleObj) / oracleObj));
      }
    }
    return rows;
  }

  /** The fixed-split row with the lowest mean objective in a scenario (null if none). */
  public static Row bestFixed(List<Row> rows, String scenario) {
    Row best = null;
    for (Row r : rows) {
      if (r.scenario().equals(scenario)
          && r.policy().startsWith("fixed-")
          && (best == null || r.objective().mean() < best.objective().mean())) {
        best = r;
      }
    }
    return best;
  }

  public static String markdown(List<Row> rows, double lambda) {
    StringBuilder sb = new StringBuilder();
    sb.append(
        String.format(
            Locale.ROOT,
            "| scenario | policy | objective PPL + %.0f·Ĉ_UE | PPL | mean split | switches | stall ms | vs oracle |%n",
            lambda));
    sb.append("|---|---|---:|---:|---:|---:|---:|---:|\n");
    for (Row r : rows) {
      Row best = bestFixed(rows, r.scenario());
      String name = r.policy() + (best != null && best == r ? " (best fixed)" : "");
      sb.append(
          String.format(
              Locale.ROOT,
              "| %s | %s | %s | %s | %s | %s | %s | %+.2f %% |%n",
              r.scenario(),
              name,
              r.objective().md("%.2f"),
              r.ppl().md("%.2f"),
              r.meanSplit().md("%.2f"),
              r.switches().md("%.1f"),
              r.stallMs().md("%.0f"),
              r.gapToOraclePct()));
    }
    return sb.toString();
  }

  public static String csv(List<Row> rows) {
    StringBuilder sb =
        new StringBuilder(
            "scenario,policy,n,objective,objective_ci95,ppl,ppl_ci95,mean_split,mean_split_ci95,"
                + "switches,switches_ci95,stall_ms,stall_ms_ci95,gap_to_oracle_pct\n");
    for (Row r : rows) {
      sb.append(
          String.format(
              Locale.ROOT,
              "%s,%s,%d,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%.2f,%.2f,%.1f,%.1f,%.3f%n",
              r.scenario(),
              r.policy(),
              r.objective().n(),
              r.objective().mean(),
              r.objective().half(),
              r.ppl().mean(),
              r.ppl().half(),
              r.meanSplit().mean(),
              r.meanSplit().half(),
              r.switches().mean(),
              r.switches().half(),
              r.stallMs().mean(),
              r.stallMs().half(),
              r.gapToOraclePct()));
    }
    return sb.toString();
  }

  /**
   * One line per scenario: does live PPO beat the best fixed split, and is it within 5 % of the
   * oracle? Besides the means, the comparison is made <em>paired by seed</em> (every policy sees
   * the same channel and the same text for one seed, so the per-seed difference removes the
   * scenario's own spread): mean ± 95 % t-interval of ppo − best fixed and of ppo / oracle − 1 over
   * the seeds both ran; "significant" when the interval excludes 0.
   */
  public static String verdict(List<Row> rows, List<RunResult> results) {
    StringBuilder sb = new StringBuilder();
    for (String sc : rows.stream().map(Row::scenario).distinct().toList()) {
      Row ppo =
          rows.stream()
              .filter(r -> r.scenario().equals(sc) && r.policy().equals("ppo"))
              .findFirst()
              .orElse(null);
      Row best = bestFixed(rows, sc);
      if (ppo == null || best == null) {
        continue;
      }
      boolean beats = ppo.objective().mean() < best.objective().mean();
      boolean close = ppo.gapToOraclePct() <= 5.0;
      sb.append(
          String.format(
              Locale.ROOT,
              "%s: ppo %.2f vs best fixed %s %.2f (%s); vs oracle %+.2f %% (%s)%n",
              sc,
              ppo.objective().mean(),
              best.policy(),
              best.objective().mean(),
              beats ? "beats it" : "does NOT beat it",
              ppo.gapToOraclePct(),
              close ? "within 5 %" : "NOT within 5 %"));
      Stat vsBest = paired(results, sc, "ppo", best.policy(), false);
      Stat vsOracle = paired(results, sc, "ppo", "oracle", true);
      if (vsBest.n() >= 2) {
        sb.append(
            String.format(
                Locale.ROOT,
                "%s, paired over %d seeds: ppo - %s = %s (%s); ppo / oracle - 1 = %s %%%n",
                sc,
                vsBest.n(),
                best.policy(),
                vsBest.md("%.2f"),
                significance(vsBest),
                vsOracle.n() >= 2 ? vsOracle.md("%.2f") : "n/a"));
      }
    }
    return sb.toString();
  }

  private static String significance(Stat d) {
    if (d.mean() + d.half() < 0) {
      return "lower, significant";
    }
    if (d.mean() - d.half() > 0) {
      return "higher, significant";
    }
    return "not significant";
  }

  /**
   * Per-seed difference of two policies' objectives in one scenario (a − b, or a / b − 1 in % when
   * {@code relative}), over the seeds both ran.
   */
  public static Stat paired(
      List<RunResult> results, String scenario, String a, String b, boolean relative) {
    Map<Long, Double> av = new LinkedHashMap<>();
    Map<Long, Double> bv = new LinkedHashMap<>();
    for (RunResult r : results) {
      if (!r.scenario().equals(scenario)) {
        continue;
      }
      if (r.policy().equals(a)) {
        av.put(r.seed(), r.objective());
      } else if (r.policy().equals(b)) {
        bv.put(r.seed(), r.objective());
      }
    }
    List<Double> d = new ArrayList<>();
    for (var e : av.entrySet()) {
      Double o = bv.get(e.getKey());
      if (o != null) {
        d.add(relative ? 100 * (e.getValue() / o - 1) : e.getValue() - o);
      }
    }
    return Stat.ofValues(d);
  }
}
