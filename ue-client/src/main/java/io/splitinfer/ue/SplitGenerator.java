package io.splitinfer.ue;

import io.grpc.Channel;
import io.grpc.Status;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.ChannelEstimate;
import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.KvTransfer;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.SessionClose;
import io.splitinfer.proto.v1.SessionDone;
import io.splitinfer.proto.v1.SessionMode;
import io.splitinfer.proto.v1.SessionOpen;
import io.splitinfer.proto.v1.SplitSwitch;
import io.splitinfer.proto.v1.SplitSwitchAck;
import io.splitinfer.proto.v1.Token;
import io.splitinfer.proto.v1.UeMessage;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.function.Consumer;

/**
 * Autoregressive generation through the split: the UE embeds, runs layers 1..p with its own KV
 * cache and streams hidden states; the edge runs the rest, samples and streams tokens back. The
 * split follows a {@link SplitSource}; a newer decision is applied at the next step boundary with a
 * SplitSwitch and the KV transfer the proto documents. One generation at a time per instance.
 */
public final class SplitGenerator {
  private final Channel channel;
  private final UeModel model;
  private final InferenceEngine engine;
  private final ModelConfig mc;
  private final PilotSource pilots;

  SplitGenerator(Channel channel, UeModel model, PilotSource pilots) {
    this.channel = channel;
    this.model = model;
    this.engine = model.engine();
    this.mc = engine.config();
    this.pilots = pilots;
  }

  /** Generates with a fixed split. */
  public GenerationResult generate(GenerateRequest req, int split, Consumer<Token> onToken) {
    return generate(req, SplitSource.fixed(split), onToken);
  }

  /** Generates, applying the splits {@code splits} decides at step boundaries. */
  public GenerationResult generate(
      GenerateRequest req, SplitSource splits, Consumer<Token> onToken) {
    long t0 = System.nanoTime();
    String sessionId = UUID.randomUUID().toString();
    SplitSource.Choice choice = splits.current(0);
    int split = choice.split();
    long epoch = choice.epoch();
    List<GenerationResult.SplitAt> history = new ArrayList<>();
    history.add(new GenerationResult.SplitAt(0, split, epoch));
    List<ChannelEstimate> estimates = new ArrayList<>();
    DType wire = req.wireDtype();
    int d = mc.hiddenSize();
    try (SessionStream s = new SessionStream(channel);
        KvCache cache = engine.newCache(1, split)) {
      s.send(
          UeMessage.newBuilder()
              .setOpen(
                  SessionOpen.newBuilder()
                      .setSessionId(sessionId)
                      .setUeId(req.ueId())
                      .setModelId(model.modelId())
                      .setModelSha256(model.sha256())
                      .setMode(SessionMode.SESSION_MODE_GENERATE)
                      .setSampling(req.sampling())
                      .setMaxNewTokens(req.maxNewTokens())
                      .setSplit(split)
                      .setEpoch(epoch)
                      .setWireDtype(wire)
                      .setStopAtEos(req.stopAtEos()))
              .build());
      EdgeMessage first = expect(s, EdgeMessage.KindCase.ACCEPTED, estimates);
      ModelInfo info = first.getAccepted().getModel();
      int maxNew = first.getAccepted().getMaxNewTokens();
      int chunk = Math.max(1, info.getMaxChunkTokens());

      // Prefill: the prompt in chunks of at most max_chunk_tokens rows; sample from the last.
      int[] prompt = req.promptIds();
      long position = 0;
      for (int from = 0; from < prompt.length; from += chunk) {
        int to = Math.min(prompt.length, from + chunk);
        int tokens = to - from;
        float[] h = engine.embed(Arrays.copyOfRange(prompt, from, to));
        h = engine.runLayers(1, split, h, tokens, cache);
        s.send(hidden(sessionId, epoch, split, position, h, tokens, wire, to == prompt.length, 0));
        position += tokens;
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
      SessionDone.Reason reason = SessionDone.Reason.REASON_UNSPECIFIED;
      while (true) {
        Token tok = expect(s, EdgeMessage.KindCase.TOKEN, estimates).getToken();
        if (ids.isEmpty()) {
          firstTokenAt = System.nanoTime();
          ttft = firstTokenAt - t0;
        }
        ids.add(tok.getId());
        logprobs.add(tok.getLogprob());
        text.append(tok.getText());
        onToken.accept(tok);
        boolean end =
            ids.size() >= maxNew
                || (tok.getEos() && req.stopAtEos())
                || tok.getPosition() >= info.getMaxPositions();
        if (end) {
          EdgeMessage done = expect(s, EdgeMessage.KindCase.DONE, estimates);
          reason = done.getDone().getReason();
          s.take(); // the edge completes the stream after Done
          break;
        }
        step++;
        SplitSource.Choice next = splits.current(step);
        if (next.epoch() > epoch) {
          switchSplit(s, cache, sessionId, split, next, position, chunk, estimates);
          split = next.split();
          epoch = next.epoch();
          history.add(new GenerationResult.SplitAt(step, split, epoch));
        }
        if (req.pilotEvery() > 0 && step % req.pilotEvery() == 0 && pilots != null) {
          s.send(UeMessage.newBuilder().setPilot(pilots.pilot(sessionId, pilotSeq++)).build());
        }
        float[] h = engine.embed(new int[] {tok.getId()});
        h = engine.runLayers(1, split, h, 1, cache);
        long before = s.bytesSent();
        s.send(hidden(sessionId, epoch, split, position, h, 1, wire, true, step));
        decodeBytes += s.bytesSent() - before;
        decodeSteps++;
        position++;
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
          (long) d * TensorCodec.bytesPerElement(wire),
          List.copyOf(estimates));
    }
  }

  static UeMessage hidden(
      String sessionId,
      long epoch,
      int split,
      long position,
      float[] h,
      int tokens,
      DType wire,
      boolean sample,
      long step) {
    return UeMessage.newBuilder()
        .setHidden(
            HiddenState.newBuilder()
                .setSessionId(sessionId)
                .setEpoch(epoch)
                .setSplitLayer(split)
                .setFirstPosition(position)
                .setTensor(TensorCodec.encode(h, wire, tokens, h.length / tokens))
                .setSample(sample)
                .setStep(step))
        .build();
  }

  /** Applies a new split at a step boundary: SplitSwitch, then the KV of the moving layers. */
  private void switchSplit(
      SessionStream s,
      KvCache cache,
      String sessionId,
      int oldSplit,
      SplitSource.Choice next,
      long position,
      int chunk,
      List<ChannelEstimate> estimates) {
    int newSplit = next.split();
    s.send(
        UeMessage.newBuilder()
            .setSplitSwitch(
                SplitSwitch.newBuilder()
                    .setSessionId(sessionId)
                    .setEpoch(next.epoch())
                    .setNewSplit(newSplit)
                    .setEffectivePosition(position)
                    .setReason("split decision epoch " + next.epoch()))
            .build());
    int length = (int) position;
    if (newSplit < oldSplit) {
      // The edge gains layers newSplit+1..oldSplit: send their KV, then drop them here.
      for (int layer = newSplit + 1; layer <= oldSplit; layer++) {
        for (int from = 0; from < length; from += chunk) {
          int to = Math.min(length, from + chunk);
          long[] shape = {mc.numKvHeads(), to - from, mc.headDim()};
          s.send(
              UeMessage.newBuilder()
                  .setKv(
                      KvTransfer.newBuilder()
                          .setSessionId(sessionId)
                          .setEpoch(next.epoch())
                          .setLayer(layer)
                          .setFirstPosition(from)
                          .setKey(
                              TensorCodec.encode(
                                  cache.exportKeys(layer, from, to), DType.DTYPE_F32, shape))
                          .setValue(
                              TensorCodec.encode(
                                  cache.exportValues(layer, from, to), DType.DTYPE_F32, shape)))
                  .build());
        }
      }
      cache.setLayerRange(1, newSplit);
      checkAck(expect(s, EdgeMessage.KindCase.SPLIT_ACK, estimates).getSplitAck(), next);
      return;
    }
    if (newSplit > oldSplit) {
      // The UE gains layers oldSplit+1..newSplit: the edge sends their KV, then the ack.
      cache.setLayerRange(1, newSplit);
      while (true) {
        EdgeMessage m = s.take();
        if (m == null) {
          throw Status.INTERNAL
              .withDescription("edge ended the stream during a split switch")
              .asRuntimeException();
        }
        if (m.hasChannelEstimate()) {
          estimates.add(m.getChannelEstimate());
        } else if (m.hasKv()) {
          KvTransfer kv = m.getKv();
          int tokens = (int) kv.getKey().getShape(1);
          cache.importLayer(
              kv.getLayer(),
              (int) kv.getFirstPosition(),
              tokens,
              TensorCodec.decode(kv.getKey()),
              TensorCodec.decode(kv.getValue()));
        } else if (m.hasSplitAck()) {
          checkAck(m.getSplitAck(), next);
          return;
        } else {
          throw Status.INTERNAL
              .withDescription("unexpected " + m.getKindCase() + " during a split switch")
              .asRuntimeException();
        }
      }
    }
    checkAck(expect(s, EdgeMessage.KindCase.SPLIT_ACK, estimates).getSplitAck(), next);
  }

  private static void checkAck(SplitSwitchAck ack, SplitSource.Choice next) {
    if (ack.getEpoch() != next.epoch() || ack.getSplit() != next.split()) {
      throw Status.INTERNAL
          .withDescription(
              "edge acknowledged split "
                  + ack.getSplit()
                  + " epoch "
                  + ack.getEpoch()
                  + ", expected "
                  + next.split()
                  + " epoch "
                  + next.epoch())
          .asRuntimeException();
    }
  }

  /** Next message of {@code kind}, collecting channel estimates that arrive in between. */
  static EdgeMessage expect(
      SessionStream s, EdgeMessage.KindCase kind, List<ChannelEstimate> estimates) {
    while (true) {
      EdgeMessage m = s.take();
      if (m == null) {
        throw Status.INTERNAL
            .withDescription("edge ended the stream while the UE expected " + kind)
            .asRuntimeException();
      }
      if (m.getKindCase() == kind) {
        return m;
      }
      if (m.hasChannelEstimate()) {
        estimates.add(m.getChannelEstimate());
        continue;
      }
      throw Status.INTERNAL
          .withDescription("expected " + kind + " from the edge, got " + m.getKindCase())
          .asRuntimeException();
    }
  }

  static UeMessage close(String sessionId) {
    return UeMessage.newBuilder()
        .setClose(SessionClose.newBuilder().setSessionId(sessionId))
        .build();
  }
}
