package io.splitinfer.controller.reward;

import io.splitinfer.controller.env.ChannelDraw;
import io.splitinfer.controller.env.EnvConfig;
import io.splitinfer.core.objective.UeCost;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Synthetic records and a fake pipeline for tests. */
public final class RewardTestSupport {
  private RewardTestSupport() {}

  public static final EnvConfig ENV = EnvConfig.forModel(12, 1.0);

  /** Records of the synthetic PPL over random channels and every split, with 1% noise. */
  public static List<MeasurementRecord> records(int channels, long seed) {
    SyntheticReward f = new SyntheticReward(ENV.numLayers());
    SplittableRandom rng = new SplittableRandom(seed);
    UeCost cost = new UeCost(64, 128, ENV.numLayers());
    List<MeasurementRecord> out = new ArrayList<>();
    for (int c = 0; c < channels; c++) {
      ChannelDraw d =
          ChannelDraw.ofLoss(rng.nextDouble() * ENV.sigmaMax(), rng.nextDouble() * 0.3, 1);
      for (int p = ENV.pMin(); p <= ENV.pMax(); p++) {
        double ppl = f.ppl(d.sigma(), d.sigmaH(), p) * (1 + 0.01 * (rng.nextDouble() - 0.5));
        out.add(
            new MeasurementRecord(
                d.sigma(), d.sigmaH(), p, ppl, cost.flops(p), "synthetic", "test", Instant.EPOCH));
      }
    }
    return out;
  }

  /** A pipeline answering with the synthetic PPL and counting calls. */
  public static final class FakePipeline implements SplitPipeline {
    private final SyntheticReward f = new SyntheticReward(ENV.numLayers());
    public int calls;
    public String weightFormat = "f32";

    @Override
    public String weightFormat() {
      return weightFormat;
    }

    @Override
    public double perplexity(double sigma, double sigmaH, int split) {
      calls++;
      return f.ppl(sigma, sigmaH, split);
    }

    @Override
    public String modelId() {
      return "fake";
    }

    @Override
    public int numLayers() {
      return ENV.numLayers();
    }

    @Override
    public int hiddenSize() {
      return 128;
    }

    @Override
    public int inputLength() {
      return 64;
    }
  }
}
