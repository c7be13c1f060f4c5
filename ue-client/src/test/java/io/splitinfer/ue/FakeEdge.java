package io.splitinfer.ue;

import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.engine.Logits;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.proto.KvBlocks;
import io.splitinfer.proto.TensorCodec;
import io.splitinfer.proto.v1.EdgeMessage;
import io.splitinfer.proto.v1.GetModelInfoRequest;
import io.splitinfer.proto.v1.HiddenState;
import io.splitinfer.proto.v1.KvTransfer;
import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.Scores;
import io.splitinfer.proto.v1.SessionAccepted;
import io.splitinfer.proto.v1.SessionDone;
import io.splitinfer.proto.v1.SessionMode;
import io.splitinfer.proto.v1.SessionOpen;
import io.splitinfer.proto.v1.SplitInferenceGrpc;
import io.splitinfer.proto.v1.SplitSwitchAck;
import io.splitinfer.proto.v1.Token;
import io.splitinfer.proto.v1.UeMessage;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A strict, minimal edge for ue-client's own tests (the real edge-server depends on ue-client, so
 * it cannot serve them): runs layers p+1..L and the head with a real engine, greedy by {@link
 * Logits}, SCORE answers, split switches with KV in both directions, and ends the stream with
 * INVALID_ARGUMENT on any message that breaks the protocol (wrong split, epoch or position). The
 * full edge, with every check and limit, is tested in edge-server against this same UE library.
 */
final class FakeEdge extends SplitInferenceGrpc.SplitInferenceImplBase {
  final InferenceEngine engine;
  final ModelInfo info;
  final List<UeMessage> received = new CopyOnWriteArrayList<>();
  volatile Status refuseOpen;

  FakeEdge(InferenceEngine engine, String modelId, String sha, int chunk) {
    this.engine = engine;
    ModelConfig c = engine.config();
    this.info =
        ModelInfo.newBuilder()
            .setModelId(modelId)
            .setSha256(sha)
            .setNumLayers(c.numLayers())
            .setHiddenSize(c.hiddenSize())
            .setNumKvHeads(c.numKvHeads())
            .setHeadDim(c.headDim())
            .setVocabSize(c.vocabSize())
            .setMaxPositions(c.maxPositions())
            .setMaxSplit(c.numLayers())
            .setEosTokenId(c.eosTokenId())
            .setMaxChunkTokens(chunk)
            .build();
  }

  @Override
  public void getModelInfo(GetModelInfoRequest r, StreamObserver<ModelInfo> out) {
    out.onNext(info);
    out.onCompleted();
  }

  @Override
  public StreamObserver<UeMessage> session(StreamObserver<EdgeMessage> out) {
    return new StreamObserver<UeMessage>() {
      final int layers = engine.config().numLayers();
      SessionOpen open;
      KvCache cache;
      int split;
      long epoch;
      long position;
      int generated;
      int kvBlocksDue;
      float[] history; // hidden states of a RECOMPUTE switch that moves layers here
      int historyPositions;
      int historyFrom;
      int historyTo;
      boolean ended;

      @Override
      public synchronized void onNext(UeMessage m) {
        received.add(m);
        if (ended) {
          return;
        }
        switch (m.getKindCase()) {
          case OPEN -> open(m.getOpen());
          case HIDDEN -> hidden(m.getHidden());
          case SPLIT_SWITCH -> {
            int to = m.getSplitSwitch().getNewSplit();
            require(m.getSplitSwitch().getEffectivePosition() == position, "switch position");
            int from = split;
            split = to;
            epoch = m.getSplitSwitch().getEpoch();
            boolean recompute =
                m.getSplitSwitch().getMethod()
                    == io.splitinfer.proto.v1.SwitchMethod.SWITCH_METHOD_RECOMPUTE;
            if (recompute) {
              // the receiving side rebuilds the moved layers' KV itself (no KvTransfer)
              cache.setLayerRange(to + 1, layers);
              if (to < from && position > 0) {
                historyFrom = to + 1;
                historyTo = from;
                history = new float[(int) position * engine.config().hiddenSize()];
                historyPositions = 0;
              }
            } else if (to < from) {
              cache.setLayerRange(to + 1, layers);
              int per =
                  (int) ((position + info.getMaxChunkTokens() - 1) / info.getMaxChunkTokens());
              kvBlocksDue = (from - to) * per;
            } else if (to > from) {
              ModelConfig c = engine.config();
              KvBlocks.export(
                      new KvBlocks.Plan(
                          open.getSessionId(),
                          epoch,
                          from + 1,
                          to,
                          (int) position,
                          info.getMaxChunkTokens(),
                          c.numKvHeads(),
                          c.headDim()),
                      cache::exportKeys,
                      cache::exportValues)
                  .forEachRemaining(kv -> out.onNext(EdgeMessage.newBuilder().setKv(kv).build()));
              cache.setLayerRange(to + 1, layers);
            }
            if (kvBlocksDue == 0 && history == null) {
              ack();
            }
          }
          case KV -> {
            KvTransfer kv = m.getKv();
            require(kvBlocksDue > 0 && kv.getEpoch() == epoch, "unexpected KvTransfer");
            cache.importLayer(
                kv.getLayer(),
                (int) kv.getFirstPosition(),
                KvBlocks.tokens(kv),
                TensorCodec.decode(kv.getKey()),
                TensorCodec.decode(kv.getValue()));
            if (--kvBlocksDue == 0) {
              ack();
            }
          }
          case HISTORY -> {
            require(history != null, "unexpected HistoryHidden");
            float[] x = TensorCodec.decode(m.getHistory().getTensor());
            System.arraycopy(
                x, 0, history, historyPositions * engine.config().hiddenSize(), x.length);
            historyPositions += x.length / engine.config().hiddenSize();
            if (historyPositions == position) {
              io.splitinfer.model.engine.KvRecompute.run(
                  engine,
                  cache,
                  historyFrom,
                  historyTo,
                  history,
                  (int) position,
                  info.getMaxChunkTokens());
              history = null;
              ack();
            }
          }
          case CLOSE -> done(SessionDone.Reason.REASON_CLOSED);
          default -> require(false, "unexpected " + m.getKindCase());
        }
      }

      void open(SessionOpen o) {
        if (refuseOpen != null) {
          ended = true;
          out.onError(refuseOpen.asRuntimeException());
          return;
        }
        open = o;
        split = o.getSplit();
        epoch = o.getEpoch();
        cache = engine.newCache(split + 1, layers);
        out.onNext(
            EdgeMessage.newBuilder()
                .setAccepted(
                    SessionAccepted.newBuilder()
                        .setSessionId(o.getSessionId())
                        .setModel(info)
                        .setSplit(split)
                        .setEpoch(epoch)
                        .setMaxNewTokens(o.getMaxNewTokens() == 0 ? 64 : o.getMaxNewTokens()))
                .build());
      }

      void hidden(HiddenState h) {
        require(
            h.getSplitLayer() == split
                && h.getEpoch() == epoch
                && h.getFirstPosition() == position
                && kvBlocksDue == 0,
            "hidden state at split " + h.getSplitLayer() + " epoch " + h.getEpoch());
        if (ended) {
          return;
        }
        int d = engine.config().hiddenSize();
        int v = engine.config().vocabSize();
        float[] x = TensorCodec.decode(h.getTensor());
        int t = x.length / d;
        float[] y = engine.runLayers(split + 1, layers, x, t, cache);
        position += t;
        if (open.getMode() == SessionMode.SESSION_MODE_SCORE) {
          float[] logits = engine.head(y, t);
          Scores.Builder sb = Scores.newBuilder().setFirstPosition(position - t).setEpoch(epoch);
          for (int r = 0; r < t; r++) {
            sb.addTargetLogprobs((float) Logits.logProb(logits, r * v, v, h.getTargetIds(r)));
          }
          out.onNext(EdgeMessage.newBuilder().setScores(sb).build());
        } else if (h.getSample()) {
          float[] last = java.util.Arrays.copyOfRange(y, (t - 1) * d, t * d);
          int id = Logits.argmax(engine.head(last, 1), 0, v);
          generated++;
          out.onNext(
              EdgeMessage.newBuilder()
                  .setToken(
                      Token.newBuilder()
                          .setId(id)
                          .setText("<" + id + ">")
                          .setPosition(position)
                          .setEpoch(epoch)
                          .setStep(h.getStep()))
                  .build());
          if (generated >= open.getMaxNewTokens()) {
            done(SessionDone.Reason.REASON_MAX_TOKENS);
          }
        }
      }

      void ack() {
        out.onNext(
            EdgeMessage.newBuilder()
                .setSplitAck(
                    SplitSwitchAck.newBuilder()
                        .setSessionId(open.getSessionId())
                        .setEpoch(epoch)
                        .setSplit(split)
                        .setEffectivePosition(position))
                .build());
      }

      void done(SessionDone.Reason reason) {
        out.onNext(
            EdgeMessage.newBuilder()
                .setDone(SessionDone.newBuilder().setReason(reason).setTokens(generated))
                .build());
        end(null);
      }

      void require(boolean ok, String what) {
        if (!ok) {
          end(Status.INVALID_ARGUMENT.withDescription("fake edge: " + what));
        }
      }

      void end(Status error) {
        if (ended) {
          return;
        }
        ended = true;
        if (cache != null) {
          cache.close();
        }
        if (error == null) {
          out.onCompleted();
        } else {
          out.onError(error.asRuntimeException());
        }
      }

      @Override
      public void onError(Throwable t) {
        end(Status.CANCELLED);
      }

      @Override
      public synchronized void onCompleted() {
        if (!ended) {
          done(SessionDone.Reason.REASON_CLOSED);
        }
      }
    };
  }
}
