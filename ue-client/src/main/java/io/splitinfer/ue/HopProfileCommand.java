package io.splitinfer.ue;

import io.splitinfer.core.trace.HopProfile;
import io.splitinfer.core.trace.StepMark;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Prints where a split decode step's time goes, hop by hop, from the {@link StepMark} recordings of
 * the UE and the edge ({@code scripts/hop-profile.sh} makes them): one table row per hop, with its
 * share of the median step.
 */
@Command(
    name = "hop-profile",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description =
        "Per-hop time of split decode steps from the UE's and the edge's JFR recordings with"
            + " splitinfer.StepMark enabled.")
final class HopProfileCommand implements Callable<Integer> {
  @Option(
      names = "--recordings",
      split = ",",
      required = true,
      description = "JFR files (the UE's and the edge's).")
  List<Path> recordings;

  @Option(names = "--out", description = "Directory for hops.csv and hops.md.")
  Path out;

  @Override
  public Integer call() throws Exception {
    HopProfile.Result r = HopProfile.read(recordings);
    if (r.steps() == 0) {
      System.err.println(
          "hop-profile: no complete decode step in "
              + recordings
              + " (were both processes recorded with splitinfer.StepMark enabled?)");
      return 1;
    }
    StringBuilder md = new StringBuilder();
    md.append(
        String.format(
            Locale.ROOT,
            "%d decode steps; step (one token) median %.1f us, mean %.1f us%n%n",
            r.steps(),
            r.stepP50Us(),
            r.stepMeanUs()));
    md.append("| hop | until | median us | mean us | p90 us | share of the median step |\n");
    md.append("|---|---|---|---|---|---|\n");
    StringBuilder csv = new StringBuilder("from,to,p50_us,mean_us,p90_us\n");
    for (HopProfile.Hop h : r.hops()) {
      md.append(
          String.format(
              Locale.ROOT,
              "| %s -> %s | %s | %.1f | %.1f | %.1f | %.1f %% |%n",
              h.from(),
              h.to(),
              h.to().meaning(),
              h.p50Us(),
              h.meanUs(),
              h.p90Us(),
              100 * h.p50Us() / r.stepP50Us()));
      csv.append(
          String.format(
              Locale.ROOT,
              "%s,%s,%.2f,%.2f,%.2f%n",
              h.from(),
              h.to(),
              h.p50Us(),
              h.meanUs(),
              h.p90Us()));
    }
    System.out.print(md);
    if (out != null) {
      Files.createDirectories(out);
      Files.writeString(out.resolve("hops.md"), md, StandardCharsets.UTF_8);
      Files.writeString(out.resolve("hops.csv"), csv, StandardCharsets.UTF_8);
    }
    return 0;
  }
}
