package io.splitinfer.controller.cli;

import io.splitinfer.controller.env.EnvConfig;
import io.splitinfer.controller.reward.MeasurementRecord;
import io.splitinfer.controller.reward.RecordStore;
import io.splitinfer.controller.reward.SurrogateConfig;
import io.splitinfer.controller.reward.SurrogateReward;
import io.splitinfer.core.objective.WeightFormatCost;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code controller fit-surrogate}: k-fold CV then a fit on all records. */
@Command(
    name = "fit-surrogate",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = "Fit the reward surrogate on the records (k-fold CV: test MSE/MAE), save it.")
final class FitSurrogateCommand implements Callable<Integer> {
  @Option(names = "--db", defaultValue = "controller-records")
  String db;

  @Option(names = "--model-id", description = "records of this model", required = true)
  String modelId;

  @Option(
      names = "--weight-format",
      description =
          "records of UEs with this weight format (f32, f16, int8, int4-g32-sym-a4, ...); the"
              + " surrogate records it",
      defaultValue = "f32")
  String weightFormat;

  @Option(names = "--layers", description = "L of the model", required = true)
  int layers;

  @Option(names = "--hidden-size", description = "d_mid of the model (eq. 2)", required = true)
  int hiddenSize;

  @Option(names = "--input-length", description = "d_in (eq. 2)", defaultValue = "64")
  int inputLength;

  @Option(names = "--sigma-max", description = "σ_max of the environment", defaultValue = "1.0")
  double sigmaMax;

  @Option(names = "--folds", defaultValue = "5")
  int folds;

  @Option(names = "--members", defaultValue = "5")
  int members;

  @Option(names = "--epochs", defaultValue = "300")
  int epochs;

  @Option(names = "--seed", defaultValue = "1")
  long seed;

  @Option(names = "--out", defaultValue = "controller-out/surrogate.json")
  Path out;

  @Override
  public Integer call() throws Exception {
    List<MeasurementRecord> recs;
    try (RecordStore store = RecordStore.open(db)) {
      recs = store.all(modelId, WeightFormatCost.canonical(weightFormat));
    }
    if (recs.size() < folds) {
      System.err.println(
          "only "
              + recs.size()
              + " records for "
              + modelId
              + " with "
              + WeightFormatCost.canonical(weightFormat)
              + " weights");
      return 1;
    }
    EnvConfig env = EnvConfig.forModel(layers, sigmaMax);
    SurrogateConfig cfg =
        SurrogateConfig.defaults().withMembers(members).withEpochs(epochs).withSeed(seed);
    long t0 = System.nanoTime();
    SurrogateReward.CvReport cv =
        SurrogateReward.crossValidate(recs, env, cfg.withMembers(1), folds);
    double cvSeconds = (System.nanoTime() - t0) / 1e9;
    System.out.printf(
        Locale.ROOT,
        "%d-fold CV on %d records of %s: test MSE %.5f  MAE %.4f  (log-PPL MSE %.6f) [%.1f s]%n",
        cv.folds(),
        cv.records(),
        modelId,
        cv.mse(),
        cv.mae(),
        cv.logMse(),
        cvSeconds);
    SurrogateReward s =
        SurrogateReward.fit(recs, env, cfg, modelId)
            .withCostDimensions(inputLength, hiddenSize)
            .withWeightFormat(weightFormat);
    s.save(out);
    System.out.println(
        "ensemble of " + members + " (" + s.weightFormat() + " UEs) saved to " + out);
    return 0;
  }
}
