package io.splitinfer.controller.experiments;

import io.splitinfer.controller.reward.EnginePipeline;
import io.splitinfer.core.channel.ChannelModel;
import io.splitinfer.core.channel.ChannelParams;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.pkg.DefaultModel;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.ppl.Perplexity;
import io.splitinfer.model.tokenizer.TextTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Fig. 3's measurement in process: the embedded default model's held-out text (the first
 * sequences·W + 1 tokens of {@link Perplexity#tokenStream}, windows of W = stride), embed → layers
 * 1..p → core's {@link ChannelModel} on the hidden state at the split (the code channel-sim runs on
 * every uplink message; one message per window, f32 in 1,400-byte packets) → layers p+1..L → head,
 * PPL by eq. 6. Unlike the controller's {@code EnginePipeline} (fixed to the training channel), the
 * channel here is any {@link ChannelParams}: AWGN at absolute σ or at an SNR, Rayleigh with a raw
 * or an equalizing receiver. Each (channel, split, seed) gets its own random stream, so a cell can
 * be re-measured alone. {@code scripts/fig3-sweep.sh} measures the same through the real processes.
 */
final class LinkPpl implements AutoCloseable {
  private final InferenceEngine engine;
  private final int[][] batch;
  private final String modelId;

  private LinkPpl(InferenceEngine engine, int[][] batch, String modelId) {
    this.engine = engine;
    this.batch = batch;
    this.modelId = modelId;
  }

  /** Opens the embedded default model with {@code sequences} windows of {@code length} tokens. */
  static LinkPpl open(int sequences, int length, int threads) throws IOException {
    ModelPackage pkg = DefaultModel.forProcess().locate();
    Path heldout =
        pkg.file("heldout.txt").orElseThrow(() -> new IOException("no heldout.txt in " + pkg));
    int[] ids;
    try (TextTokenizer tok = pkg.openTokenizer()) {
      ids = Perplexity.tokenStream(tok, Files.readString(heldout));
    }
    int n = Math.min(sequences, (ids.length - 1) / length);
    int[][] batch = new int[n][];
    for (int s = 0; s < n; s++) {
      batch[s] = Arrays.copyOfRange(ids, s * length, (s + 1) * length + 1);
    }
    InferenceEngine engine =
        pkg.openEngine(OnnxOptions.defaults().withThreads(threads, 1).withSpinning(false));
    return new LinkPpl(engine, batch, pkg.dir().getFileName().toString());
  }

  String modelId() {
    return modelId;
  }

  int numLayers() {
    return engine.config().numLayers();
  }

  int tokens() {
    return batch.length * (batch[0].length - 1);
  }

  /**
   * PPL at {@code split} over {@code channel} (its seed is replaced per window from {@code seed}).
   */
  double ppl(ChannelParams channel, int split, long seed) {
    return EnginePipeline.splitPpl(
        engine,
        batch,
        split,
        row -> new ChannelModel(channel.toBuilder().seed(seed * 1_000_003L + row).build()));
  }

  /** RMS of the clean hidden state at every split p = 0..L (p = 0: the embeddings). */
  double[] hiddenRms() {
    return EnginePipeline.hiddenRms(engine, batch);
  }

  @Override
  public void close() {
    engine.close();
  }
}
