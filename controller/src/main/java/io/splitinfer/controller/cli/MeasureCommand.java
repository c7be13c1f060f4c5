package io.splitinfer.controller.cli;

import io.splitinfer.controller.env.ChannelDraw;
import io.splitinfer.controller.reward.EnginePipeline;
import io.splitinfer.controller.reward.MeasuredReward;
import io.splitinfer.controller.reward.RecordStore;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code controller measure}: measured records over a (σ, loss, p) grid. */
@Command(
    name = "measure",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = "Measure PPL over a grid of σ, loss and splits through the in-process pipeline.")
final class MeasureCommand implements Callable<Integer> {
  @Mixin PipelineOptions pipeline = new PipelineOptions();

  @Option(names = "--sigmas", split = ",", defaultValue = "0,0.1,0.2,0.3,0.4,0.5,0.6,0.8,1.0")
  double[] sigmas;

  @Option(names = "--losses", split = ",", defaultValue = "0,0.05,0.1,0.15,0.2,0.25,0.3")
  double[] losses;

  @Option(names = "--min-split", defaultValue = "1")
  int minSplit;

  @Option(names = "--max-split", description = "-1: L-1", defaultValue = "-1")
  int maxSplit;

  @Option(
      names = "--rms",
      description = "first print the RMS of the clean hidden state at every split p = 0..L")
  boolean rms;

  @Option(names = "--csv", description = "also export all records to this CSV", defaultValue = "")
  String csv;

  @Override
  public Integer call() throws Exception {
    try (EnginePipeline pipe = pipeline.open();
        RecordStore store = RecordStore.open(pipeline.db)) {
      if (rms) {
        double[] r = pipe.hiddenRms();
        StringBuilder line = new StringBuilder("hidden-state RMS by split p:");
        for (int p = 0; p < r.length; p++) {
          line.append(String.format(Locale.ROOT, " %d:%.3f", p, r[p]));
        }
        System.out.println(line);
      }
      int hi = maxSplit < 0 ? pipe.numLayers() - 1 : maxSplit;
      MeasuredReward m =
          new MeasuredReward(
              pipe, store, pipeline.sigmaStep, pipeline.lossStep, 1.0, Clock.systemUTC());
      int total = sigmas.length * losses.length * (hi - minSplit + 1);
      int done = 0;
      long t0 = System.nanoTime();
      for (double s : sigmas) {
        for (double loss : losses) {
          double sh = ChannelDraw.sigmaHForLoss(loss, 1.0);
          for (int p = minSplit; p <= hi; p++) {
            double ppl = m.ppl(s, sh, p);
            done++;
            Common.progress(
                System.err,
                done,
                total,
                String.format(Locale.ROOT, "σ=%.2f loss=%.2f p=%d PPL=%.3f", s, loss, p, ppl));
          }
        }
      }
      System.out.printf(
          Locale.ROOT,
          "%d grid points: %d measured, %d from the records (%s) in %.1f s; %d records for %s%n",
          total,
          m.measurements(),
          m.cacheHits(),
          store.url(),
          (System.nanoTime() - t0) / 1e9,
          store.all(pipe.modelId()).size(),
          pipe.modelId());
      if (!csv.isEmpty()) {
        store.exportCsv(Path.of(csv));
      }
    }
    return 0;
  }
}
