package io.splitinfer.controller.baseline;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.controller.env.ChannelCase;
import io.splitinfer.controller.env.SplitEnvironment;
import io.splitinfer.controller.ppo.ActorCritic;
import io.splitinfer.controller.ppo.PpoConfig;
import io.splitinfer.controller.ppo.PpoTrainer;
import io.splitinfer.controller.reward.RewardTestSupport;
import io.splitinfer.controller.reward.SurrogateConfig;
import io.splitinfer.controller.reward.SurrogateReward;
import io.splitinfer.core.objective.Objective;
import io.splitinfer.core.objective.UeCost;
import java.util.function.LongFunction;
import org.junit.jupiter.api.Test;

class BaselinesTest {
  static final Objective OBJ = new Objective(new UeCost(64, 128, 12), 10.0);

  @Test
  void ppoTrainedOnASurrogateBeatsRandomAndUntrainedAndOracleBeatsAll() {
    SurrogateReward surrogate =
        SurrogateReward.fit(
            RewardTestSupport.records(60, 5),
            RewardTestSupport.ENV,
            new SurrogateConfig(24, 1, 60, 32, 5e-3, false, 2),
            "synthetic");
    LongFunction<SplitEnvironment> envs =
        seed -> new SplitEnvironment(RewardTestSupport.ENV, ChannelCase.A, surrogate, OBJ, seed);
    PpoConfig cfg = PpoConfig.defaults().withTotalSteps(8000).withSeed(3);
    PpoTrainer t = new PpoTrainer(cfg, 3, 3);
    t.train(envs.apply(11), null);
    int episodes = 300;
    double ppo = Evaluation.evaluate(Policies.greedy("ppo", t.agent()), envs, 99, episodes).mean();
    double untrained =
        Evaluation.evaluate(
                Policies.greedy("untrained", ActorCritic.create(3, 3, 64, 3)), envs, 99, episodes)
            .mean();
    double random = Evaluation.evaluate(Policies.random(1), envs, 99, episodes).mean();
    double oracle = Evaluation.evaluate(new Oracle(), envs, 99, episodes).mean();
    int fixed = Evaluation.bestFixedSplit(envs.apply(5), 200);
    double fixedR = Evaluation.evaluate(Policies.fixedSplit(fixed), envs, 99, episodes).mean();
    String msg =
        "ppo "
            + ppo
            + " random "
            + random
            + " untrained "
            + untrained
            + " oracle "
            + oracle
            + " fixed "
            + fixedR;
    assertTrue(ppo > random, msg);
    assertTrue(ppo > untrained, msg);
    assertTrue(oracle >= ppo - 1e-9, msg);
    assertTrue(oracle >= fixedR - 1e-9, msg);
    assertTrue(oracle >= random, msg);
  }
}
