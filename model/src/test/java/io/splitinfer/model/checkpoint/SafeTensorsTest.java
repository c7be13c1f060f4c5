package io.splitinfer.model.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.splitinfer.core.numeric.HalfFloats;
import io.splitinfer.model.engine.ModelConfig;
import io.splitinfer.model.engine.RopeScaling;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SafeTensorsTest {
  @TempDir Path dir;

  static float[] values() {
    return new float[] {
      0f, -0f, 1f, -2.5f, 3.14159f, 65504f, 1e-3f, -7.25e-5f, 6.1e-5f, 1e-8f, 123.456f, 0.1f
    };
  }

  @ParameterizedTest
  @EnumSource(DType.class)
  void roundTripsEachDtype(DType dtype) throws IOException {
    float[] v = values();
    Path f = dir.resolve("t.safetensors");
    SafeTensorsWriter.write(
        f,
        List.of(
            new SafeTensorsWriter.Entry("a", dtype, new long[] {3, 4}, () -> v),
            new SafeTensorsWriter.Entry("b", dtype, new long[] {2}, () -> new float[] {5, 6})));
    try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
      assertEquals(dtype, r.info("a").dtype());
      assertArrayEquals(new long[] {3, 4}, r.info("a").shape());
      float[] back = r.floats("a", 3, 4);
      for (int i = 0; i < v.length; i++) {
        float expected =
            switch (dtype) {
              case F32 -> v[i];
              case F16 -> HalfFloats.fromF16(HalfFloats.toF16(v[i]));
              case BF16 -> Float.intBitsToFloat((HalfFloats.toBf16(v[i]) & 0xffff) << 16);
            };
        assertEquals(expected, back[i], 0f, "element " + i);
        double rel = dtype == DType.F32 ? 0 : dtype == DType.F16 ? 1e-3 : 8e-3;
        if (Math.abs(v[i]) > 1e-4) {
          assertEquals(v[i], back[i], Math.abs(v[i]) * rel);
        }
      }
      assertArrayEquals(new float[] {5, 6}, r.floats("b"));
      assertThrows(IllegalArgumentException.class, () -> r.floats("a", 4, 3));
    }
  }

  @Test
  void halfConversionMatchesKnownBitPatterns() {
    assertEquals((short) 0x3c00, HalfFloats.toF16(1f));
    assertEquals((short) 0xc000, HalfFloats.toF16(-2f));
    assertEquals((short) 0x7bff, HalfFloats.toF16(65504f));
    assertEquals((short) 0x7c00, HalfFloats.toF16(70000f));
    assertEquals((short) 0x0001, HalfFloats.toF16(0x1p-24f));
    assertEquals(0x1p-24f, HalfFloats.fromF16((short) 0x0001));
    assertEquals(1.0009765625f, HalfFloats.fromF16((short) 0x3c01));
    // ties to even: 1 + 2^-11 lies halfway between 1 and 1 + 2^-10
    assertEquals((short) 0x3c00, HalfFloats.toF16(1f + 0x1p-11f));
    assertEquals((short) 0x3f80, HalfFloats.toBf16(1f));
    // every half value survives half -> float -> half
    for (int h = 0; h < 0x10000; h++) {
      if (((h >>> 10) & 0x1f) == 0x1f && (h & 0x3ff) != 0) {
        continue; // NaN payloads
      }
      assertEquals((short) h, HalfFloats.toF16(HalfFloats.fromF16((short) h)), "half " + h);
    }
  }

  @Test
  void readsShardedCheckpoints() throws IOException {
    ModelConfig c = RandomCheckpoint.tiny(3, false);
    Path single = dir.resolve("single");
    Path sharded = dir.resolve("sharded");
    new RandomCheckpoint(c, DType.F16, 7, 1).write(single);
    new RandomCheckpoint(c, DType.F16, 7, 3).write(sharded);
    assertTrue(Files.exists(sharded.resolve(SafeTensorsReader.INDEX_FILE)));
    try (SafeTensorsReader a = SafeTensorsReader.open(single);
        SafeTensorsReader b = SafeTensorsReader.open(sharded)) {
      assertEquals(a.names(), b.names());
      for (String n : a.names()) {
        assertArrayEquals(a.floats(n), b.floats(n), n);
      }
    }
  }

  @Test
  void refusesUnknownDtypeAndTruncatedFile() throws IOException {
    Path f = dir.resolve("bad.safetensors");
    String header = "{\"x\":{\"dtype\":\"I8\",\"shape\":[2],\"data_offsets\":[0,2]}}";
    byte[] hb = header.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    var bb =
        java.nio.ByteBuffer.allocate(8 + hb.length + 2).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    bb.putLong(hb.length).put(hb).put((byte) 1).put((byte) 2);
    Files.write(f, bb.array());
    IOException e = assertThrows(IOException.class, () -> SafeTensorsReader.open(f));
    assertTrue(e.getMessage().contains("unsupported safetensors dtype I8"), e.getMessage());

    Path g = dir.resolve("short.safetensors");
    SafeTensorsWriter.write(
        g,
        List.of(new SafeTensorsWriter.Entry("a", DType.F32, new long[] {4}, () -> new float[4])));
    byte[] all = Files.readAllBytes(g);
    Files.write(g, java.util.Arrays.copyOf(all, all.length - 4));
    e = assertThrows(IOException.class, () -> SafeTensorsReader.open(g));
    assertTrue(e.getMessage().contains("inconsistent data_offsets"), e.getMessage());
  }

  @Test
  void configReadsGqaRopeScalingAndRefusesUnknown() throws IOException {
    ObjectMapper json = new ObjectMapper();
    var node = LlamaConfigIo.toJson(RandomCheckpoint.tinyLlama11b());
    node.remove("head_dim");
    node.putArray("eos_token_id").add(128001).add(128009);
    var rs = node.putObject("rope_scaling");
    rs.put("rope_type", "llama3").put("factor", 8.0).put("low_freq_factor", 1.0);
    rs.put("high_freq_factor", 4.0).put("original_max_position_embeddings", 8192);
    ModelConfig c = LlamaConfigIo.parse(node);
    assertEquals(64, c.headDim());
    assertEquals(4, c.numKvHeads());
    assertEquals(128001, c.eosTokenId());
    assertEquals("llama3", c.ropeScaling().type());
    assertEquals(8.0, c.ropeScalingFactor());
    // llama3: high-frequency dims untouched, low-frequency ones divided by the factor
    float[] plain = RopeScaling.NONE.inverseFrequencies(500000, 128);
    float[] scaled = c.ropeScaling().inverseFrequencies(500000, 128);
    assertEquals(plain[0], scaled[0]);
    assertEquals(plain[63] / 8, scaled[63], 1e-12);

    node.putObject("rope_scaling").put("type", "linear").put("factor", 2.0);
    assertEquals(RopeScaling.linear(2.0), LlamaConfigIo.parse(node).ropeScaling());

    node.putObject("rope_scaling").put("type", "dynamic").put("factor", 2.0);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> LlamaConfigIo.parse(node));
    assertTrue(e.getMessage().contains("unsupported rope_scaling type 'dynamic'"), e.getMessage());

    Path d = dir.resolve("cfg");
    LlamaConfigIo.write(RandomCheckpoint.llama2_7b(), d);
    assertEquals(RandomCheckpoint.llama2_7b(), LlamaConfigIo.read(d));
    assertTrue(json.readTree(d.resolve("config.json").toFile()).has("num_key_value_heads"));
  }
}
