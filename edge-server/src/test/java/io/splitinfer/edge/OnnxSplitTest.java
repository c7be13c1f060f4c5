package io.splitinfer.edge;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.model.checkpoint.DType;
import io.splitinfer.model.checkpoint.RandomCheckpoint;
import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.onnx.OnnxConverter;
import io.splitinfer.model.onnx.OnnxOptions;
import io.splitinfer.model.pkg.ModelPackage;
import io.splitinfer.model.ppl.Perplexity;
import io.splitinfer.proto.v1.ChannelEstimate;
import io.splitinfer.ue.GenerateRequest;
import io.splitinfer.ue.GenerationResult;
import io.splitinfer.ue.LocalGenerator;
import io.splitinfer.ue.UeClient;
import io.splitinfer.ue.UeClientMain;
import io.splitinfer.ue.UeModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The production engine (ONNX Runtime, a converted package) through the split, over TCP. */
class OnnxSplitTest {
  @TempDir Path dir;

  @Test
  void onnxSplitEqualsMonolithicAndPilotsAreEstimated() throws Exception {
    Path ckpt = Files.createDirectories(dir.resolve("ckpt"));
    new RandomCheckpoint(RandomCheckpoint.tiny(4, false), DType.F32, 5, 1).write(ckpt);
    Path pkgDir = dir.resolve("pkg");
    new OnnxConverter(OnnxConverter.Options.of(DType.F32).withModelId("tiny-onnx"))
        .convert(ckpt, pkgDir);
    ModelPackage pkg = ModelPackage.open(pkgDir);
    try (InferenceEngine engine = pkg.openEngine(OnnxOptions.defaults().withThreads(1, 1))) {
      EdgeMetrics metrics =
          new EdgeMetrics(new io.micrometer.core.instrument.simple.SimpleMeterRegistry());
      List<String> reported = new ArrayList<>();
      SplitInferenceService service =
          new SplitInferenceService(
              new EdgeModel(pkg.id(), pkg.sha256(), engine, id -> "<" + id + ">"),
              EdgeConfig.defaults().withMaxChunkTokens(8),
              metrics);
      service.setPilotHandler(
          new PilotChannelEstimation(
              1400, 1, 0, System::currentTimeMillis, (ue, inc, snr) -> reported.add(ue)));
      try (EdgeServer server =
          new EdgeServer(service, metrics).start(new java.net.InetSocketAddress("127.0.0.1", 0))) {
        var ch =
            io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress(
                    "127.0.0.1", server.port())
                .usePlaintext()
                .build();
        try {
          UeClient ue =
              new UeClient(ch, new UeModel(pkg.id(), pkg.sha256(), engine), pilotSource());
          int[] prompt = {3, 14, 15, 92, 65, 35, 89, 79, 32, 38, 46};
          int[] want = new LocalGenerator(engine).greedy(prompt, 10, 8).tokens();
          for (int p : new int[] {0, 1, 2, 3, 4}) {
            GenerationResult r =
                ue.generator()
                    .generate(
                        GenerateRequest.greedy(prompt, 10).withPilotEvery(3).withUeId("ue-7"),
                        p,
                        t -> {});
            assertArrayEquals(want, r.tokenIds(), "split " + p);
            assertFalse(r.estimates().isEmpty());
            ChannelEstimate e = r.estimates().get(r.estimates().size() - 1);
            // A direct link: no noise, no loss.
            assertEquals(0, e.getLossRate(), 1e-12);
            assertTrue(e.getSigma() < 1e-3, "sigma " + e.getSigma());
          }
          assertTrue(reported.contains("ue-7"));
          // Perplexity through the network with the model module's sliding-window protocol.
          int[] corpus = new int[40];
          for (int i = 0; i < corpus.length; i++) {
            corpus[i] = 3 + (i * 37) % 90;
          }
          var proto = new Perplexity.Protocol(16, 8);
          double local =
              Perplexity.evaluate(corpus, proto, Perplexity.engineScorer(engine, engine, 2, 8))
                  .ppl();
          double remote =
              Perplexity.evaluate(
                      corpus,
                      proto,
                      UeClientMain.networkScorer(
                          ue.scorer(2, io.splitinfer.proto.v1.DType.DTYPE_F32, "ue-7")))
                  .ppl();
          assertEquals(local, remote, 1e-4 * local);
        } finally {
          ch.shutdownNow();
        }
      }
    }
  }

  static io.splitinfer.ue.PilotSource pilotSource() {
    return (sessionId, seq) ->
        io.splitinfer.proto.v1.Pilot.newBuilder()
            .setSessionId(sessionId)
            .setSeed(seq + 1)
            .setSequence(seq)
            .setSamples(
                io.splitinfer.proto.TensorCodec.encode(
                    io.splitinfer.core.channel.PilotSequence.values(seq + 1, 1024),
                    io.splitinfer.proto.v1.DType.DTYPE_F32,
                    1024))
            .build();
  }
}
