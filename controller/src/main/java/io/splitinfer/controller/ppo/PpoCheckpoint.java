package io.splitinfer.controller.ppo;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitinfer.controller.env.EnvConfig;
import io.splitinfer.controller.nn.Mlp;
import io.splitinfer.core.objective.WeightFormatCost;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A trained policy on disk (JSON): both networks' shapes and parameters plus what is needed to use
 * them — the environment's observation normalization, the objective's λ and UE-cost dimensions, the
 * model it was trained for, and the training configuration. Doubles are written in their shortest
 * round-trip form, so save → load is exact.
 *
 * @param format format tag ({@value #FORMAT})
 * @param algorithm "ppo", "a2c", ...
 * @param modelId model the rewards came from
 * @param channelCase case trained on (L, H, A)
 * @param lambda λ of eq. 7
 * @param inputLength d_in of the UE cost (eq. 2)
 * @param hiddenSize d_mid of the UE cost (eq. 2)
 * @param env observation normalization and split bounds
 * @param ppo training configuration
 * @param trainedSteps environment steps trained
 * @param rewardSource where the rewards came from ("surrogate", "measured", "algorithm1")
 * @param weightFormat the UE weight format it was trained for (the UE cost of eq. 2 and the records
 *     behind the rewards; canonical name, f32 for checkpoints written before formats were
 *     recorded). The service refuses it for UEs of another format.
 */
public record PpoCheckpoint(
    String format,
    String algorithm,
    String modelId,
    String channelCase,
    double lambda,
    int inputLength,
    int hiddenSize,
    EnvConfig env,
    PpoConfig ppo,
    int trainedSteps,
    String rewardSource,
    int[] actorSizes,
    double[] actorParams,
    int[] criticSizes,
    double[] criticParams,
    String weightFormat) {
  public static final String FORMAT = "splitinfer-ppo-v1";

  public PpoCheckpoint {
    weightFormat = WeightFormatCost.canonical(weightFormat);
  }

  private static final ObjectMapper JSON =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  public static PpoCheckpoint of(
      String algorithm,
      String modelId,
      String channelCase,
      double lambda,
      int inputLength,
      int hiddenSize,
      EnvConfig env,
      PpoConfig ppo,
      int trainedSteps,
      String rewardSource,
      ActorCritic agent,
      String weightFormat) {
    return new PpoCheckpoint(
        FORMAT,
        algorithm,
        modelId,
        channelCase,
        lambda,
        inputLength,
        hiddenSize,
        env,
        ppo,
        trainedSteps,
        rewardSource,
        agent.actor().sizes(),
        agent.actor().params().clone(),
        agent.critic().sizes(),
        agent.critic().params().clone(),
        weightFormat);
  }

  /** Rebuilds the networks. */
  public ActorCritic agent() {
    Mlp actor = new Mlp(actorSizes);
    Mlp critic = new Mlp(criticSizes);
    if (actor.params().length != actorParams.length
        || critic.params().length != criticParams.length) {
      throw new IllegalArgumentException("checkpoint parameter count does not match its shapes");
    }
    System.arraycopy(actorParams, 0, actor.params(), 0, actorParams.length);
    System.arraycopy(criticParams, 0, critic.params(), 0, criticParams.length);
    return new ActorCritic(actor, critic);
  }

  public void save(Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    JSON.writerWithDefaultPrettyPrinter().writeValue(file.toFile(), this);
  }

  public static PpoCheckpoint load(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return read(in);
    }
  }

  public static PpoCheckpoint read(InputStream in) throws IOException {
    PpoCheckpoint c = JSON.readValue(in, PpoCheckpoint.class);
    if (!FORMAT.equals(c.format())) {
      throw new IOException("not a " + FORMAT + " checkpoint: format=" + c.format());
    }
    return c;
  }
}
