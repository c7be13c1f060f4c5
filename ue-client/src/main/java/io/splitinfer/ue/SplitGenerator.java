package io.splitinfer.ue;

import io.grpc.Channel;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.SessionDone;
import io.splitinfer.proto.v1.Token;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * Autoregressive generation through the split: the UE embeds, runs layers 1..p with its own KV
 * cache and streams hidden states; the edge runs the rest, samples and streams tokens back. The
 * split follows a {@link SplitSource}; a newer decision is applied at the next step boundary by
 * {@link UeSession#follow}. This class is the generation loop only (prefill in chunks, one token
 * per step, pilots, timings); the protocol is {@link UeSession}'s. One generation at a time per
 * instance.
 */
public final class SplitGenerator {
  private final Channel channel;
  private final UeModel model;
  private final PilotSource pilots;
  private SwitchCostModel switchCosts = new SwitchCostModel(SwitchCostModel.Config.auto());

  SplitGenerator(Channel channel, UeModel model, PilotSource pilots) {
    this.channel = channel;
    this.model = model;
    this.pilots = pilots;
  }

  /** Picks KV transfer or recompute at switches with {@code config} (default: by cost). */
  public SplitGenerator withSwitchCosts(SwitchCostModel.Config config) {
    this.switchCosts = new SwitchCostModel(config);
    return this;
  }

  /** Generates with a fixed split. */
  public GenerationResult generate(GenerateRequest req, int split, Consumer<Token> onToken) {
    return generate(req, SplitSource.fixed(split), onToken);
  }

  /** Generates, applying the splits {@code splits} decides at step boundaries. */
  public GenerationResult generate(
      GenerateRequest req, SplitSource splits, Consumer<Token> onToken) {
    long t0 = System.nanoTime();
    SplitSource.Choice choice = splits.current(0);
    List<GenerationResult.SplitAt> history = new ArrayList<>();
    history.add(new GenerationResult.SplitAt(0, choice.split(), choice.epoch()));
    try (UeSession s = UeSession.open(channel, model, UeSession.Options.generate(req), choice)) {
      s.useSwitchCosts(switchCosts);
      int maxNew = s.maxNewTokens();
      int chunk = s.maxChunk();
      long maxPositions = s.model().getMaxPositions();

      // Prefill: the prompt in chunks of at most max_chunk_tokens rows; sample from the last.
      int[] prompt = req.promptIds();
      for (int from = 0; from < prompt.length; from += chunk) {
        int to = Math.min(prompt.length, from + chunk);
        s.send(Arrays.copyOfRange(prompt, from, to), null, to == prompt.length, 0);
      }

      List<Integer> ids = new ArrayList<>();
      List<Float> logprobs = new ArrayList<>();
      StringBuilder text = new StringBuilder();
      long ttft = 0;
      long firstTokenAt = 0;
      long decodeBytes = 0;
      long decodeSteps = 0;
      long step = 0;
      long pilotSeq = 0;
      SessionDone.Reason reason;
      while (true) {
        Token tok = s.nextToken();
        if (ids.isEmpty()) {
          firstTokenAt = System.nanoTime();
          ttft = firstTokenAt - t0;
        }
        ids.add(tok.getId());
        logprobs.add(tok.getLogprob());
        text.append(tok.getText());
        onToken.accept(tok);
        if (ids.size() >= maxNew
            || (tok.getEos() && req.stopAtEos())
            || tok.getPosition() >= maxPositions) {
          reason = s.awaitDone().getReason();
          break;
        }
        step++;
        if (s.follow(splits.current(step))) {
          history.add(new GenerationResult.SplitAt(step, s.split(), s.epoch()));
        }
        if (req.pilotEvery() > 0 && step % req.pilotEvery() == 0 && pilots != null) {
          s.pilot(pilots.pilot(s.id(), pilotSeq++));
        }
        decodeBytes += s.send(new int[] {tok.getId()}, null, true, step);
        decodeSteps++;
      }
      long end = System.nanoTime();
      float[] lp = new float[logprobs.size()];
      for (int i = 0; i < lp.length; i++) {
        lp[i] = logprobs.get(i);
      }
      return new GenerationResult(
          ids.stream().mapToInt(Integer::intValue).toArray(),
          text.toString(),
          lp,
          reason,
          List.copyOf(history),
          ttft,
          end - t0,
          end - firstTokenAt,
          s.bytesSent(),
          decodeBytes,
          decodeSteps,
          (long) s.model().getHiddenSize() * TensorCodec.bytesPerElement(req.wireDtype()),
          List.copyOf(s.estimates()));
    }
  }
}
