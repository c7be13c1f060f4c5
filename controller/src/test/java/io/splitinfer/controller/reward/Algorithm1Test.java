package io.splitinfer.controller.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.controller.env.ChannelCase;
import io.splitinfer.controller.env.SplitEnvironment;
import io.splitinfer.controller.ppo.PpoConfig;
import io.splitinfer.controller.ppo.PpoTrainer;
import io.splitinfer.core.objective.Objective;
import io.splitinfer.core.objective.UeCost;
import java.time.Clock;
import org.junit.jupiter.api.Test;

class Algorithm1Test {
  @Test
  void measuresUntilThresholdThenSwitchesToTheSurrogate() throws Exception {
    try (RecordStore store = RecordStore.inMemory()) {
      RewardTestSupport.FakePipeline pipe = new RewardTestSupport.FakePipeline();
      MeasuredReward measured = new MeasuredReward(pipe, store, 0.1, 0.05, 1.0, Clock.systemUTC());
      Algorithm1 alg =
          new Algorithm1(
              measured,
              RewardTestSupport.ENV,
              new SurrogateConfig(16, 1, 80, 32, 5e-3, false, 1),
              2,
              Double.POSITIVE_INFINITY);
      SplitEnvironment env =
          new SplitEnvironment(
              RewardTestSupport.ENV,
              ChannelCase.A,
              alg,
              new Objective(new UeCost(64, 128, 12), 5.0),
              4);
      PpoTrainer trainer = new PpoTrainer(PpoConfig.defaults().withTotalSteps(1600), 3, 3);
      final int[] callsAtSwitch = {-1};
      trainer.train(
          env,
          (u, n, steps, st) -> {
            alg.onUpdate(u, n, steps, st);
            if (alg.usingSurrogate() && callsAtSwitch[0] < 0) {
              callsAtSwitch[0] = pipe.calls;
            }
          });
      assertTrue(alg.usingSurrogate());
      assertTrue(callsAtSwitch[0] > 0);
      assertEquals(callsAtSwitch[0], pipe.calls, "no measurement after the switch");
      assertTrue(alg.surrogateCalls() >= 800);
      assertEquals(pipe.calls, store.count());
      assertFalse(alg.name().contains("measured"));
    }
  }
}
