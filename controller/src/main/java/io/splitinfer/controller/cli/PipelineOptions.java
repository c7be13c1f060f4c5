package io.splitinfer.controller.cli;

import io.splitinfer.controller.reward.EnginePipeline;
import io.splitinfer.controller.reward.SplitPipeline;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.checkpoint.RandomCheckpoint;
import io.splitinfer.model.reference.ReferenceEngine;
import io.splitinfer.model.tokenizer.HfTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import picocli.CommandLine.Option;

/**
 * How to build the in-process measurement pipeline: a model checkpoint directory (config.json,
 * model.safetensors, tokenizer.json and heldout.txt for the evaluation batch), or a random-weight
 * tiny model with random tokens (for trying the plumbing only: its perplexities say nothing about a
 * real model).
 */
final class PipelineOptions {
  @Option(names = "--model", description = "model checkpoint directory", defaultValue = "")
  String model;

  @Option(
      names = "--random-tiny",
      description = "use a random-weight tiny model with this many layers instead (plumbing only)",
      defaultValue = "0")
  int randomTiny;

  @Option(
      names = "--db",
      description = "records database: file path or JDBC URL",
      defaultValue = "controller-records")
  String db;

  @Option(names = "--sequences", description = "evaluation sequences", defaultValue = "4")
  int sequences;

  @Option(
      names = "--length",
      description = "tokens per evaluation sequence (d_in)",
      defaultValue = "64")
  int length;

  @Option(
      names = "--sigma-step",
      description = "σ grid of the measurement cache",
      defaultValue = "0.02")
  double sigmaStep;

  @Option(
      names = "--loss-step",
      description = "loss grid of the measurement cache",
      defaultValue = "0.01")
  double lossStep;

  @Option(names = "--channel-seed", defaultValue = "7")
  long channelSeed;

  SplitPipeline open() throws IOException {
    if (randomTiny > 0) {
      Path dir = Files.createTempDirectory("controller-random-tiny");
      var cfg = RandomCheckpoint.tiny(randomTiny, true);
      new RandomCheckpoint(cfg, DType.F32, 42, 1).write(dir);
      SplittableRandom rng = new SplittableRandom(channelSeed);
      int[][] batch = new int[sequences][length];
      for (int[] seq : batch) {
        for (int i = 0; i < seq.length; i++) {
          seq[i] = rng.nextInt(cfg.vocabSize());
        }
      }
      return new EnginePipeline(
          ReferenceEngine.load(dir), batch, "random-tiny-" + randomTiny, channelSeed);
    }
    if (model.isEmpty()) {
      throw new IllegalArgumentException("--model DIR or --random-tiny N is required");
    }
    Path dir = Path.of(model);
    ReferenceEngine engine = ReferenceEngine.load(dir);
    int[] ids;
    try (HfTokenizer tok =
        HfTokenizer.open(dir.resolve("tokenizer.json"), engine.config().vocabSize())) {
      ids = tok.encode(Files.readString(dir.resolve("heldout.txt")));
    }
    int n = Math.min(sequences, ids.length / length);
    int[][] batch = new int[n][];
    for (int s = 0; s < n; s++) {
      batch[s] = Arrays.copyOfRange(ids, s * length, (s + 1) * length);
    }
    return new EnginePipeline(engine, batch, dir.getFileName().toString(), channelSeed);
  }
}
