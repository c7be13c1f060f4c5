package io.splitinfer.model.cli;

import io.splitinfer.model.onnx.OnnxEngine;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.privacy.PrivacyAttack;
import io.splitinfer.model.privacy.PrivacyReport;
import io.splitinfer.model.privacy.WireCondition;
import io.splitinfer.model.tokenizer.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code model privacy}: the inversion attack suite ({@link PrivacyAttack}) and its report. */
@Command(
    name = "privacy",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description =
        "How many prompt tokens an attacker recovers from the hidden states that cross the wire,"
            + " for every split p: a ridge probe per layer and a weights-based inversion, on the"
            + " clean wire, through AWGN channels, with UE-added noise and with the int8 wire"
            + " dtype. Text: the corpus split in two disjoint parts, the first 80%% to train the"
            + " attacker, the last 20%% attacked. Writes recovery.csv, floor-table.csv and"
            + " recovery-<attack>.png.")
final class PrivacyCommand implements Callable<Integer> {
  @Parameters(arity = "0..1", paramLabel = "DIR", description = "Package (default: embedded).")
  Path dir;

  @Option(names = "--out", defaultValue = "results/privacy", description = "Output directory.")
  Path out;

  @Option(names = "--corpus", description = "UTF-8 text (default: the package's heldout.txt).")
  Path corpus;

  @Option(
      names = "--quick",
      defaultValue = "false",
      description =
          "Seconds-scale run: window 8, 2048 training tokens + 2048 random ones, 64 attacked"
              + " tokens, one window for the weights attack, top-k 2 (overrides those flags).")
  boolean quick;

  @Option(names = "--window", defaultValue = "64", description = "Tokens per prompt.")
  int window;

  @Option(
      names = "--train-tokens",
      defaultValue = "0",
      description = "Attacker training tokens (0: the whole training part).")
  int trainTokens;

  @Option(names = "--test-tokens", defaultValue = "2048", description = "Attacked tokens (probe).")
  int testTokens;

  @Option(
      names = "--invert-windows",
      defaultValue = "4",
      description = "Attacked prompts for the weights attack (of --window tokens each).")
  int invertWindows;

  @Option(
      names = "--random-tokens",
      defaultValue = "32768",
      description = "Extra attacker training tokens drawn uniformly from the vocabulary.")
  int randomTokens;

  @Option(names = "--top-k", defaultValue = "8", description = "Candidates per source.")
  int topK;

  @Option(
      names = "--ridge",
      defaultValue = "1e-3",
      description = "Relative shrinkage of the probe covariance.")
  double ridge;

  @Option(
      names = "--channel-sigmas",
      defaultValue = "2,6",
      description =
          "AWGN σ list of the uplink (absolute, as in channel-sim --sigma; none: no channel).")
  String channelSigmas;

  @Option(
      names = "--defence-sigmas",
      defaultValue = "0.5",
      description = "σ list of the Gaussian noise the UE adds before sending (none: no defence).")
  String defenceSigmas;

  @Option(names = "--no-int8", defaultValue = "false", description = "Skip the int8 condition.")
  boolean noInt8;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of every noise draw.")
  long seed;

  @Mixin ModelCli.EngineFlags engine;

  @Override
  public Integer call() throws IOException {
    if (quick) {
      window = 8;
      trainTokens = 2048;
      testTokens = 64;
      invertWindows = 1;
      topK = 2;
      randomTokens = 2048;
    }
    ModelPackage p = ModelCli.openPackage(dir);
    Path text =
        corpus != null
            ? corpus
            : p.file("heldout.txt")
                .orElseThrow(() -> new IOException("no --corpus and no heldout.txt in " + p));
    List<WireCondition> conds = new ArrayList<>();
    conds.add(WireCondition.clean());
    for (double s : sigmas(channelSigmas)) {
      conds.add(WireCondition.channel(s));
    }
    for (double s : sigmas(defenceSigmas)) {
      conds.add(WireCondition.defence(s));
    }
    if (!noInt8) {
      conds.add(WireCondition.int8Wire());
    }
    try (TextTokenizer tok = p.openTokenizer();
        OnnxEngine e = p.openEngine(engine.options())) {
      int[] ids = tok.encode(Files.readString(text));
      int cut = (int) (ids.length * 0.8);
      int[] train = Arrays.copyOfRange(ids, 0, cut);
      int[] test = Arrays.copyOfRange(ids, cut, ids.length);
      PrivacyAttack.Config cfg =
          new PrivacyAttack.Config(
              window,
              trainTokens > 0 ? trainTokens : train.length,
              testTokens,
              invertWindows,
              topK,
              randomTokens,
              ridge,
              seed);
      System.err.printf(
          Locale.ROOT,
          "corpus %s: %d ids, %d train / %d test; %s; conditions %s%n",
          text,
          ids.length,
          train.length,
          test.length,
          cfg,
          conds.stream().map(WireCondition::name).toList());
      long t0 = System.nanoTime();
      List<PrivacyAttack.Result> results =
          new PrivacyAttack(e, cfg, conds).run(train, test, System.err::println);
      PrivacyReport.write(out, results);
      PrivacyReport.print(System.out, results);
      System.out.printf(
          Locale.ROOT,
          "wrote %s (recovery.csv, floor-table.csv, PNGs) in %.1f s%n",
          out,
          (System.nanoTime() - t0) / 1e9);
    }
    return 0;
  }

  static double[] sigmas(String list) {
    String t = list.trim();
    if (t.isEmpty() || t.equalsIgnoreCase("none")) {
      return new double[0];
    }
    return Arrays.stream(t.split(",")).mapToDouble(v -> Double.parseDouble(v.trim())).toArray();
  }
}
