package io.splitinfer.model.cli;

import io.splitinfer.core.cli.FlagDefaults;
import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.checkpoint.RandomCheckpoint;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.Logits;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.engine.RopeScaling;
import io.splitinfer.model.engine.SplitRunner;
import io.splitinfer.model.onnx.OnnxConverter;
import io.splitinfer.model.onnx.OnnxEngine;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.pkg.DefaultModel;
import io.splitinfer.model.pkg.Manifest;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.ppl.Perplexity;
import io.splitinfer.model.reference.ReferenceEngine;
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
      ModelCli.Bench.class
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

    OnnxOptions options() {
      return OnnxOptions.defaults().withThreads(threads, 0).withCuda(cuda).withSpinning(spin);
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

    @Option(names = "--dtype", defaultValue = "f32", description = "Weight storage: f32 or f16.")
    String dtype;

    @Option(
        names = "--model-id",
        description = "Model id for the manifest (default: the checkpoint directory's name).")
    String modelId;

    @Override
    public Integer call() throws IOException {
      DType dt = DType.valueOf(dtype.toUpperCase(Locale.ROOT));
      Manifest m =
          new OnnxConverter(OnnxConverter.Options.of(dt).withModelId(modelId))
              .convert(checkpoint, out);
      System.out.println("package " + out + " sha256 " + m.packageSha256());
      return 0;
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
          OnnxEngine e = p.openEngine(engine.options())) {
        int[] ids = tok.encode(Files.readString(text));
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
          OnnxEngine e = p.openEngine(engine.options())) {
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

  @Command(
      name = "bench",
      mixinStandardHelpOptions = true,
      showDefaultValues = true,
      description =
          "Decode-step latency (all layers + head, one token with a KV cache of"
              + " --context positions) of the ONNX engine, and of the reference engine when a"
              + " checkpoint is given or the model is the embedded one.")
  static final class Bench implements Callable<Integer> {
    @Parameters(arity = "0..1", paramLabel = "DIR", description = "Package (default: embedded).")
    Path dir;

    @Option(names = "--checkpoint", description = "Checkpoint for the reference engine.")
    Path checkpoint;

    @Option(names = "--context", defaultValue = "128", description = "Cached positions.")
    int context;

    @Option(names = "--steps", defaultValue = "50", description = "Timed decode steps.")
    int steps;

    @Option(names = "--no-reference", defaultValue = "false", description = "Skip the reference.")
    boolean noReference;

    @Mixin EngineFlags engine;

    @Override
    public Integer call() throws IOException {
      ModelPackage p = openPackage(dir);
      try (OnnxEngine e = p.openEngine(engine.options().withPreload(true))) {
        report("onnx (" + e.provider() + ")", e);
      }
      if (noReference) {
        return 0;
      }
      Path ck = checkpoint;
      Path tmp = null;
      if (ck == null && dir == null) {
        tmp = Files.createTempDirectory("splitinfer-ckpt");
        DefaultModel.forProcess().extractCheckpoint(tmp);
        ck = tmp;
      }
      try {
        if (ck != null) {
          try (ReferenceEngine r = ReferenceEngine.load(ck)) {
            report("reference", r);
          }
        }
      } finally {
        if (tmp != null) {
          DefaultModel.deleteTree(tmp);
        }
      }
      return 0;
    }

    private void report(String name, InferenceEngine e) {
      ModelConfig c = e.config();
      int[] prompt = new int[context];
      for (int i = 0; i < context; i++) {
        prompt[i] = (i * 31 + 7) % c.vocabSize();
      }
      double[] ms = new double[steps];
      try (SplitRunner r = new SplitRunner(e, c.numLayers() / 2)) {
        float[] logits = r.forward(prompt);
        int next = Logits.argmax(logits, (context - 1) * c.vocabSize(), c.vocabSize());
        for (int i = 0; i < 5 + steps; i++) {
          long t0 = System.nanoTime();
          logits = r.forward(new int[] {next});
          long t1 = System.nanoTime();
          next = Logits.argmax(logits, 0, c.vocabSize());
          if (i >= 5) {
            ms[i - 5] = (t1 - t0) / 1e6;
          }
        }
      }
      Arrays.sort(ms);
      System.out.printf(
          Locale.ROOT,
          "%-16s decode step (%d layers, context %d): median %.2f ms, p90 %.2f ms%n",
          name,
          c.numLayers(),
          context,
          ms[steps / 2],
          ms[(int) (steps * 0.9)]);
    }
  }
}
