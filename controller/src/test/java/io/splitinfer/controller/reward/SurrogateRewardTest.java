package io.splitinfer.controller.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.controller.env.ChannelDraw;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SurrogateRewardTest {
  static final SurrogateConfig FAST = new SurrogateConfig(24, 3, 60, 32, 5e-3, true, 3);

  @Test
  void fitsTheRecordsAndCrossValidates() {
    List<MeasurementRecord> recs = RewardTestSupport.records(60, 1);
    SurrogateReward.CvReport cv =
        SurrogateReward.crossValidate(recs, RewardTestSupport.ENV, FAST.withMembers(1), 3);
    assertEquals(3, cv.folds());
    // target PPL ranges ~10..60; a useful fit is within a few percent
    assertTrue(cv.mae() < 1.5, "MAE " + cv.mae());
    assertTrue(cv.mse() < 5, "MSE " + cv.mse());
  }

  @Test
  void ensembleIsMoreUncertainFarFromTheData(@TempDir Path dir) throws Exception {
    // train only on quiet channels (sigma < 0.3)
    List<MeasurementRecord> recs =
        RewardTestSupport.records(80, 2).stream().filter(r -> r.sigma() < 0.3).toList();
    SurrogateReward s = SurrogateReward.fit(recs, RewardTestSupport.ENV, FAST, "synthetic");
    double sh = ChannelDraw.sigmaHForLoss(0.05, 1);
    double inside = s.predict(0.15, sh, 2).std();
    double outside = s.predict(1.0, sh, 1).std();
    assertTrue(outside > inside, "outside " + outside + " inside " + inside);
    Path f = dir.resolve("s.json");
    s.save(f);
    SurrogateReward back = SurrogateReward.load(f);
    assertEquals(s.ppl(0.2, sh, 5), back.ppl(0.2, sh, 5), 0.0);
  }

  @Test
  void theSurrogateSaysWhichFormatItsRecordsWereMeasuredWith(@TempDir Path dir) throws Exception {
    List<MeasurementRecord> recs = RewardTestSupport.records(10, 3);
    SurrogateReward s =
        SurrogateReward.fit(recs, RewardTestSupport.ENV, FAST.withEpochs(5), "synthetic")
            .withWeightFormat("int8");
    Path f = dir.resolve("s.json");
    s.save(f);
    assertTrue(java.nio.file.Files.readString(f).contains("\"weightFormat\":\"int8-g32-sym-a4\""));
    assertEquals("int8-g32-sym-a4", SurrogateReward.load(f).weightFormat());
    // the shipped surrogate predates the field: its records are f32
    assertEquals(
        "f32", io.splitinfer.controller.service.PolicyFactory.loadSurrogate("").weightFormat());
  }
}
