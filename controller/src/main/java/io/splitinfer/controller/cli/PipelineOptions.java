package io.splitinfer.controller.cli;

import io.splitinfer.controller.reward.EnginePipeline;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.checkpoint.RandomCheckpoint;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.pkg.DefaultModel;
import io.splitinfer.model.pkg.Manifest;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.ppl.Perplexity;
import io.splitinfer.model.reference.ReferenceEngine;
import io.splitinfer.model.tokenizer.HfTokenizer;
import io.splitinfer.model.tokenizer.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import picocli.CommandLine.Option;

/**
 * How to build the in-process measurement pipeline: a model package (the ONNX parts, run with the
 * ONNX Runtime engine; {@code default} = the embedded default model), a model checkpoint directory
 * (config.json, model.safetensors, run with the reference engine), each with tokenizer.json and
 * heldout.txt for the evaluation batch (held-out text, never training text), or a random-weight
 * tiny model with random tokens (for trying the plumbing only: its perplexities say nothing about a
 * real model).
 */
final class PipelineOptions {
  @Option(
      names = "--model",
      description =
          "model package directory (manifest.json: ONNX engine), 'default' (the embedded model),"
              + " or a checkpoint directory (config.json, model.safetensors: reference engine)",
      defaultValue = "")
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

  @Option(
      names = "--threads",
      description = "ONNX Runtime intra-op threads (0: its default)",
      defaultValue = "2")
  int threads;

  @Option(names = "--channel-seed", defaultValue = "7")
  long channelSeed;

  EnginePipeline open() throws IOException {
    if (randomTiny > 0) {
      Path dir = Files.createTempDirectory("controller-random-tiny");
      var cfg = RandomCheckpoint.tiny(randomTiny, true);
      new RandomCheckpoint(cfg, DType.F32, 42, 1).write(dir);
      SplittableRandom rng = new SplittableRandom(channelSeed);
      int[][] batch = new int[sequences][length + 1];
      for (int[] seq : batch) {
        for (int i = 0; i < seq.length; i++) {
          seq[i] = rng.nextInt(cfg.vocabSize());
        }
      }
      return new EnginePipeline(
          ReferenceEngine.load(dir), batch, "random-tiny-" + randomTiny, channelSeed);
    }
    if (model.isEmpty()) {
      throw new IllegalArgumentException("--model DIR|default or --random-tiny N is required");
    }
    InferenceEngine engine;
    int[] ids;
    String id;
    String format = "f32";
    if (model.equals("default")
        || Files.isRegularFile(Path.of(model).resolve(Manifest.FILE_NAME))) {
      // a model package (ONNX parts): the ONNX Runtime engine, held-out text from the package
      ModelPackage pkg =
          model.equals("default")
              ? DefaultModel.forProcess().locate()
              : ModelPackage.open(Path.of(model));
      Path heldout =
          pkg.file("heldout.txt")
              .orElseThrow(() -> new IOException("no heldout.txt in the package " + pkg.dir()));
      try (TextTokenizer tok = pkg.openTokenizer()) {
        ids = Perplexity.tokenStream(tok, Files.readString(heldout));
      }
      engine = pkg.openEngine(OnnxOptions.defaults().withThreads(threads, 1).withSpinning(false));
      id = pkg.dir().getFileName().toString();
      format = pkg.manifest().layerWeightFormat(1);
    } else {
      // a checkpoint directory (config.json, model.safetensors): the plain-Java reference engine
      Path dir = Path.of(model);
      ReferenceEngine ref = ReferenceEngine.load(dir);
      try (HfTokenizer tok =
          HfTokenizer.open(dir.resolve("tokenizer.json"), ref.config().vocabSize())) {
        ids = Perplexity.tokenStream(tok, Files.readString(dir.resolve("heldout.txt")));
      }
      engine = ref;
      id = dir.getFileName().toString();
    }
    // consecutive windows of length+1 tokens sharing their boundary token: the stream protocol
    // of Perplexity with window = stride = length over the first sequences·length+1 tokens
    int n = Math.min(sequences, (ids.length - 1) / length);
    int[][] batch = new int[n][];
    for (int s = 0; s < n; s++) {
      batch[s] = Arrays.copyOfRange(ids, s * length, (s + 1) * length + 1);
    }
    return new EnginePipeline(engine, batch, id, channelSeed).withWeightFormat(format);
  }
}
