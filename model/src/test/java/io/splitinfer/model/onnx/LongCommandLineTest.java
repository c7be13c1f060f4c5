package io.splitinfer.model.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.model.engine.InferenceEngine;
import io.splitinfer.model.engine.KvCache;
import io.splitinfer.model.pkg.DefaultModel;
import io.splitinfer.model.pkg.ModelPackage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Regression: ONNX Runtime used to kill the JVM with SIGSEGV (exit 139, no output) when the process
 * command line was longer than about 4 KB, e.g. {@code generate --prompt <1,200 tokens>}. A child
 * JVM with a 300 KB command line loads the default model through {@link OnnxEngine} and runs a
 * forward step.
 */
class LongCommandLineTest {

  /** Entry point of the child JVM: open the default model and run one token through it. */
  public static void main(String[] args) throws Exception {
    ModelPackage pkg = DefaultModel.forProcess().locate();
    try (InferenceEngine e = OnnxEngine.open(pkg, OnnxOptions.defaults());
        KvCache c = e.newCache(1, e.config().numLayers())) {
      float[] h = e.runLayers(1, e.config().numLayers(), e.embed(new int[] {1}), 1, c);
      float[] logits = e.head(h, 1);
      System.out.println("ok " + logits.length + " args " + args.length);
    }
  }

  @Test
  void aJvmWithAVeryLongCommandLineLoadsOnnxRuntime() throws Exception {
    String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>();
    cmd.add(javaBin);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(LongCommandLineTest.class.getName());
    String word = "prompt ".repeat(10_000); // 70 KB per argument, below Linux's 128 KB per arg
    for (int i = 0; i < 4; i++) {
      cmd.add(word);
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM did not finish");
    assertEquals(0, p.exitValue(), "child JVM exit code (139 = the ORT crash); output:\n" + out);
    assertTrue(out.contains("ok "), out);
  }
}
