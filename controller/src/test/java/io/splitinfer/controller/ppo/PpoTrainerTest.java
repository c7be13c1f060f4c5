package io.splitinfer.controller.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import io.splitinfer.controller.env.ChannelCase;
import io.splitinfer.controller.env.EnvConfig;
import io.splitinfer.controller.env.SplitEnvironment;
import io.splitinfer.controller.reward.SyntheticReward;
import io.splitinfer.core.objective.Objective;
import io.splitinfer.core.objective.UeCost;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PpoTrainerTest {
  static final EnvConfig ENV = EnvConfig.forModel(12, 1.0);
  static final Objective OBJ = new Objective(new UeCost(64, 128, 12), 8.0);

  static SplitEnvironment env(long seed) {
    return new SplitEnvironment(ENV, ChannelCase.A, new SyntheticReward(12), OBJ, seed);
  }

  @Test
  void sameSeedSameAgent() {
    PpoConfig c = PpoConfig.defaults().withTotalSteps(1200).withSeed(5);
    PpoTrainer a = new PpoTrainer(c, 3, 3);
    List<PpoTrainer.CurvePoint> ca = a.train(env(9), null);
    PpoTrainer b = new PpoTrainer(c, 3, 3);
    List<PpoTrainer.CurvePoint> cb = b.train(env(9), null);
    assertArrayEquals(a.agent().actor().params(), b.agent().actor().params());
    assertArrayEquals(a.agent().critic().params(), b.agent().critic().params());
    assertEquals(ca, cb);
    PpoTrainer d = new PpoTrainer(c.withSeed(6), 3, 3);
    d.train(env(9), null);
    assertFalse(java.util.Arrays.equals(a.agent().actor().params(), d.agent().actor().params()));
  }

  @Test
  void checkpointRoundTripIsExact(@TempDir Path dir) throws Exception {
    PpoConfig c = PpoConfig.defaults().withTotalSteps(400);
    PpoTrainer t = new PpoTrainer(c, 3, 3);
    t.train(env(1), null);
    PpoCheckpoint cp =
        PpoCheckpoint.of(
            "ppo", "synthetic", "A", 8.0, 64, 128, ENV, c, 400, "test", t.agent(), "int4");
    Path f = dir.resolve("sub/agent.json");
    cp.save(f);
    PpoCheckpoint back = PpoCheckpoint.load(f);
    assertEquals(ENV, back.env());
    assertEquals(c, back.ppo());
    ActorCritic ac = back.agent();
    assertArrayEquals(t.agent().actor().params(), ac.actor().params());
    assertArrayEquals(t.agent().critic().params(), ac.critic().params());
    double[] obs = {0.3, 0.2, 0.5};
    assertArrayEquals(t.agent().probabilities(obs), ac.probabilities(obs));
    assertNotNull(back.modelId());
    assertEquals("int4-g32-sym-a4", back.weightFormat());
  }

  @Test
  void aCheckpointWrittenBeforeFormatsIsForF32Ues() throws Exception {
    // the shipped policy predates the weight_format field
    assertEquals(
        "f32", io.splitinfer.controller.service.PolicyFactory.loadCheckpoint("").weightFormat());
  }
}
