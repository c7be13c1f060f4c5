package io.splitinfer.model.cli;

import io.splitinfer.core.cli.FlagDefaults;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.checkpoint.RandomCheckpoint;
import io.splitinfer.model.engine.EngineKind;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.engine.RopeScaling;
import io.splitinfer.model.engine.SplitRunner;
import io.splitinfer.model.onnx.OnnxConverter;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.onnx.WeightFormat;
import io.splitinfer.model.pkg.DefaultModel;
import io.splitinfer.model.pkg.Manifest;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.ppl.Perplexity;
import io.splitinfer.model.tokenizer.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Command-line entry point of model. */
@Command(
    name = "model",
    mixinStandardHelpOptions = true,
    version = "model 0.1.0",
    description = "Converts checkpoints to model packages, inspects them, measures perplexity.",
    showDefaultValues = true,
    subcommands = {
      ModelCli.Convert.class,
      ModelCli.Info.class,
      ModelCli.Ppl.class,
      ModelCli.RandomCkpt.class,
      ModelCli.Generate.class,
      BenchCommand.class,
      MemoryCommand.class,
      PrivacyCommand.class,
      TrainNgramCommand.class
    })
public final class ModelCli implements Callable<Integer> {
  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 0;
  }

  public static void main(String[] args) {
    System.exit(FlagDefaults.install(new CommandLine(new ModelCli()), args).execute(args));
  }

  /** Engine flags shared by the commands that run a model. */
  static final class EngineFlags {
    @Option(
        names = "--engine",
        defaultValue = "onnx",
        converter = EngineKindConverter.class,
        description =
            "onnx (ONNX Runtime) or vector (the Java Vector API engine, f32/f16 packages; needs"
                + " java --add-modules jdk.incubator.vector).")
    EngineKind kind;

    @Option(
        names = "--threads",
        defaultValue = "0",
        description = "ONNX Runtime intra-op threads (0: ONNX Runtime's default).")
    int threads;

    @Option(
        names = "--cuda",
        defaultValue = "false",
        description = "Try the CUDA execution provider (falls back to CPU).")
    boolean cuda;

    @Option(
        names = "--spin",
        defaultValue = "false",
        description = "Let idle ONNX Runtime threads spin (faster only on an idle machine).")
    boolean spin;

    @Option(
        names = "--prefill-chunk",
        defaultValue = "" + OnnxOptions.DEFAULT_PREFILL_CHUNK,
        description = "Run prompts through the layers in chunks of this many tokens (0: whole).")
    int prefillChunk;

    @Option(
        names = "--arena",
        defaultValue = "false",
        description = "Enable ONNX Runtime's CPU memory arena (off: memory goes back after a run).")
    boolean arena;

    @Option(
        names = "--fuse-max-mb",
        defaultValue = "" + (OnnxOptions.DEFAULT_FUSE_MAX_BYTES >> 20),
        description =
            "Run a range of contiguous layers as one merged graph when their parts hold at most"
                + " this many MB (0: one call per layer).")
    long fuseMaxMb;

    /** An engine of {@code --engine}'s kind over {@code p}. */
    InferenceEngine open(ModelPackage p) throws IOException {
      return p.openEngine(kind, options());
    }

    OnnxOptions options() {
      return OnnxOptions.defaults()
          .withFuseMaxBytes(fuseMaxMb << 20)
          .withThreads(threads, 0)
          .withCuda(cuda)
          .withSpinning(spin)
          .withPrefillChunk(prefillChunk)
          .withCpuArena(arena);
    }
  }

  static ModelPackage openPackage(Path dir) throws IOException {
    return dir != null ? ModelPackage.open(dir) : DefaultModel.forProcess().locate();
  }

  @Command(
      name = "convert",
      mixinStandardHelpOptions = true,
      showDefaultValues = true,
      description =
          "Converts a Hugging Face Llama checkpoint (config.json + safetensors) to a model"
              + " package of per-layer ONNX parts.")
  static final class Convert implements Callable<Integer> {
    @Option(names = "--checkpoint", required = true, description = "Checkpoint directory.")
    Path checkpoint;

    @Option(names = "--out", required = true, description = "Package directory (new or empty).")
    Path out;

    @Option(
        names = {"--weights", "--dtype"},
        defaultValue = "f32",
        description =
            "Weight format of the parts: f32, f16, int8 or int4 (int8/int4: block-quantized,"
                + " ONNX Runtime MatMulNBits; a full form like int4-g64-asym-a0 also works).")
    String weights;

    @Option(
        names = "--group-size",
        description = "int8/int4: weights per quantization block along K (power of 2, >= 16).")
    Integer groupSize;

    @Option(
        names = "--asymmetric",
        negatable = true,
        description = "int8/int4: a zero point per block (default symmetric).")
    Boolean asymmetric;

    @Option(
        names = "--accuracy-level",
        description =
            "int8/int4: MatMulNBits accuracy_level (0: float32 compute, 4: int8 activations,"
                + " fastest on CPU; default 4).")
    Integer accuracyLevel;

    @Option(
        names = "--layer-weights",
        description =
            "Override the format of some layers, FROM-TO=FORMAT (1-based, inclusive), repeatable;"
                + " e.g. 12-22=f32 keeps the edge's layers float.")
    java.util.List<String> layerWeights = new java.util.ArrayList<>();

    @Option(
        names = "--model-id",
        description = "Model id for the manifest (default: the checkpoint directory's name).")
    String modelId;

    @Override
    public Integer call() throws IOException {
      WeightFormat wf = withFlags(WeightFormat.parse(weights));
      OnnxConverter.Options o = OnnxConverter.Options.of(wf).withModelId(modelId);
      for (String lw : layerWeights) {
        java.util.regex.Matcher mt =
            java.util.regex.Pattern.compile("(\\d+)(?:-(\\d+))?=(.+)").matcher(lw.strip());
        if (!mt.matches()) {
          throw new CommandLine.ParameterException(
              new CommandLine(this), "--layer-weights wants FROM-TO=FORMAT, got '" + lw + "'");
        }
        int from = Integer.parseInt(mt.group(1));
        int to = mt.group(2) == null ? from : Integer.parseInt(mt.group(2));
        o = o.withLayerWeights(from, to, withFlags(WeightFormat.parse(mt.group(3))));
      }
      Manifest m = new OnnxConverter(o).convert(checkpoint, out);
      System.out.println("package " + out + " sha256 " + m.packageSha256());
      return 0;
    }

    private WeightFormat withFlags(WeightFormat f) {
      return f.with(
          groupSize != null ? groupSize : f.groupSize(),
          asymmetric != null ? !asymmetric : f.symmetric(),
          accuracyLevel != null ? accuracyLevel : f.accuracyLevel());
    }
  }

  @Command(
      name = "info",
      mixinStandardHelpOptions = true,
      showDefaultValues = true,
      description =
          "Verifies a model package and prints its manifest (default: the embedded" + " model).")
  static final class Info implements Callable<Integer> {
    @Parameters(arity = "0..1", paramLabel = "DIR", description = "Package directory.")
    Path dir;

    @Override
    public Integer call() throws IOException {
      ModelPackage p = openPackage(dir);
      Manifest m = p.manifest();
      ModelConfig c = m.config();
      System.out.printf("dir           %s%n", p.dir());
      System.out.printf("model id      %s%n", m.modelId());
      System.out.printf("package sha   %s%n", m.packageSha256());
      System.out.printf("architecture  %s, weights %s%n", m.architecture(), m.dtype());
      if (!m.weightFormats().isEmpty()) {
        java.util.Map<String, java.util.List<String>> byFormat = new java.util.TreeMap<>();
        m.weightFormats()
            .forEach(
                (f, w) -> byFormat.computeIfAbsent(w, x -> new java.util.ArrayList<>()).add(f));
        byFormat.forEach((w, fs) -> System.out.printf("  %-22s %s%n", w, String.join(" ", fs)));
      }
      System.out.printf(
          "dims          layers %d, hidden %d, intermediate %d, heads %d, kv heads %d, head dim"
              + " %d, vocab %d, max positions %d%n",
          c.numLayers(),
          c.hiddenSize(),
          c.intermediateSize(),
          c.numHeads(),
          c.numKvHeads(),
          c.headDim(),
          c.vocabSize(),
          c.maxPositions());
      System.out.printf(
          "rope          theta %s, scaling %s; rms eps %s; tied embeddings %s; bos %d eos %d%n",
          c.ropeTheta(),
          c.ropeScaling().type(),
          c.rmsNormEps(),
          c.tiedEmbeddings(),
          c.bosTokenId(),
          c.eosTokenId());
      long total = 0;
      for (var e : m.files().entrySet()) {
        System.out.printf(
            "  %-28s %12d  %s%n", e.getKey(), e.getValue().bytes(), e.getValue().sha256());
        total += e.getValue().bytes();
      }
      System.out.printf("files         %d, %.1f MB, all verified%n", m.files().size(), total / 1e6);
      return 0;
    }
  }

  @Command(
      name = "ppl",
      mixinStandardHelpOptions = true,
      showDefaultValues = true,
      description = "Perplexity (eq. 6) of a corpus, with the model run as two halves at --split.")
  static final class Ppl implements Callable<Integer> {
    @Parameters(arity = "0..1", paramLabel = "DIR", description = "Package (default: embedded).")
    Path dir;

    @Option(
        names = "--corpus",
        description = "UTF-8 text file (default: the package's heldout.txt).")
    Path corpus;

    @Option(names = "--split", defaultValue = "0", description = "Split p: layers 1..p first.")
    int split;

    @Option(names = "--window", defaultValue = "256", description = "Tokens per window (W).")
    int window;

    @Option(names = "--stride", defaultValue = "256", description = "Window stride (S <= W).")
    int stride;

    @Option(
        names = "--max-tokens",
        defaultValue = "0",
        description = "Use only the first N tokens of the corpus (0: all).")
    int maxTokens;

    @Option(names = "--chunk", defaultValue = "256", description = "Prefill chunk (tokens).")
    int chunk;

    @Mixin EngineFlags engine;

    @Override
    public Integer call() throws IOException {
      ModelPackage p = openPackage(dir);
      Path text =
          corpus != null
              ? corpus
              : p.file("heldout.txt")
                  .orElseThrow(() -> new IOException("no --corpus and no heldout.txt in " + p));
      try (TextTokenizer tok = p.openTokenizer();
          InferenceEngine e = engine.open(p)) {
        int[] ids = Perplexity.tokenStream(tok, Files.readString(text));
        if (maxTokens > 0 && ids.length > maxTokens) {
          ids = Arrays.copyOf(ids, maxTokens);
        }
        long t0 = System.nanoTime();
        Perplexity.Result r =
            Perplexity.evaluate(
                ids,
                new Perplexity.Protocol(window, stride),
                Perplexity.engineScorer(e, e, split, chunk));
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.printf(
            Locale.ROOT,
            "corpus %s: %d tokens, %d scored in %d windows (W %d, S %d), split %d%n"
                + "mean NLL %.6f nats, PPL %.4f  [%.1f s, %.0f tok/s]%n",
            text,
            ids.length,
            r.scoredTokens(),
            r.windows(),
            window,
            stride,
            split,
            r.meanNll(),
            r.ppl(),
            s,
            r.scoredTokens() / s);
      }
      return 0;
    }
  }

  @Command(
      name = "random-checkpoint",
      mixinStandardHelpOptions = true,
      showDefaultValues = true,
      description = "Writes a Hugging Face Llama checkpoint with random weights (for benchmarks).")
  static final class RandomCkpt implements Callable<Integer> {
    @Option(names = "--out", required = true, description = "Checkpoint directory.")
    Path out;

    @Option(
        names = "--preset",
        description = "tinyllama-1.1b or llama2-7b (overrides the dimension flags).")
    String preset;

    @Option(names = "--layers", defaultValue = "4", description = "Decoder layers.")
    int layers;

    @Option(names = "--hidden", defaultValue = "256", description = "Hidden size d.")
    int hidden;

    @Option(names = "--intermediate", defaultValue = "688", description = "SwiGLU size.")
    int intermediate;

    @Option(names = "--heads", defaultValue = "8", description = "Attention heads.")
    int heads;

    @Option(names = "--kv-heads", defaultValue = "4", description = "Key/value heads.")
    int kvHeads;

    @Option(names = "--vocab", defaultValue = "4096", description = "Vocabulary size.")
    int vocab;

    @Option(names = "--max-positions", defaultValue = "2048", description = "Max positions.")
    int maxPositions;

    @Option(names = "--tied", defaultValue = "false", description = "Tie the LM head.")
    boolean tied;

    @Option(names = "--dtype", defaultValue = "f16", description = "f32, f16 or bf16.")
    String dtype;

    @Option(names = "--seed", defaultValue = "1", description = "Random seed.")
    long seed;

    @Option(names = "--shards", defaultValue = "1", description = "Safetensors shards.")
    int shards;

    @Override
    public Integer call() throws IOException {
      ModelConfig c;
      if (preset == null) {
        c =
            new ModelConfig(
                layers,
                hidden,
                intermediate,
                heads,
                kvHeads,
                hidden / heads,
                vocab,
                maxPositions,
                1e-5,
                10000.0,
                tied,
                1,
                2,
                RopeScaling.NONE);
      } else {
        c =
            switch (preset.toLowerCase(Locale.ROOT)) {
              case "tinyllama-1.1b" -> RandomCheckpoint.tinyLlama11b();
              case "llama2-7b" -> RandomCheckpoint.llama2_7b();
              default ->
                  throw new CommandLine.ParameterException(
                      new CommandLine(this),
                      "unknown preset " + preset + " (tinyllama-1.1b, llama2-7b)");
            };
      }
      long t0 = System.nanoTime();
      new RandomCheckpoint(c, DType.valueOf(dtype.toUpperCase(Locale.ROOT)), seed, shards)
          .write(out);
      System.out.printf(
          Locale.ROOT,
          "wrote %s (%d layers, d %d) in %.1f s%n",
          out,
          c.numLayers(),
          c.hiddenSize(),
          (System.nanoTime() - t0) / 1e9);
      return 0;
    }
  }

  @Command(
      name = "generate",
      mixinStandardHelpOptions = true,
      showDefaultValues = true,
      description = "Local greedy generation (no BOS, argmax), for eyeballing a model.")
  static final class Generate implements Callable<Integer> {
    @Parameters(arity = "0..1", paramLabel = "DIR", description = "Package (default: embedded).")
    Path dir;

    @Option(names = "--prompt", defaultValue = "The state of the Union is", description = "Text.")
    String prompt;

    @Option(names = "--max-tokens", defaultValue = "40", description = "New tokens.")
    int maxTokens;

    @Option(names = "--split", defaultValue = "0", description = "Split p.")
    int split;

    @Mixin EngineFlags engine;

    @Override
    public Integer call() throws IOException {
      ModelPackage p = openPackage(dir);
      try (TextTokenizer tok = p.openTokenizer();
          InferenceEngine e = engine.open(p)) {
        int[] ids = tok.encode(prompt);
        long t0 = System.nanoTime();
        int[] out = SplitRunner.greedy(e, split, ids, maxTokens);
        double s = (System.nanoTime() - t0) / 1e9;
        System.out.println(prompt + tok.decode(out));
        System.err.printf(
            Locale.ROOT, "%d prompt + %d new tokens in %.2f s%n", ids.length, out.length, s);
      }
      return 0;
    }
  }
}
