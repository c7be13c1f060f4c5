package io.splitinfer.model.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Writes safetensors files (and sharded checkpoints with an index). Tensor data are produced
 * lazily, one tensor at a time, so checkpoints larger than memory can be written.
 */
public final class SafeTensorsWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  private SafeTensorsWriter() {}

  /**
   * One tensor to write.
   *
   * @param name tensor name
   * @param dtype stored element type
   * @param shape dimensions
   * @param data produces the float32 values (row-major) when the tensor is written
   */
  public record Entry(String name, DType dtype, long[] shape, Supplier<float[]> data) {
    long elements() {
      long n = 1;
      for (long s : shape) {
        n *= s;
      }
      return n;
    }
  }

  /** Writes one safetensors file with the entries in the given order. */
  public static void write(Path file, List<Entry> entries) throws IOException {
    ObjectNode header = JSON.createObjectNode();
    long offset = 0;
    for (Entry e : entries) {
      ObjectNode t = header.putObject(e.name());
      t.put("dtype", e.dtype().name());
      ArrayNode shape = t.putArray("shape");
      for (long s : e.shape()) {
        shape.add(s);
      }
      long len = e.elements() * e.dtype().bytes();
      t.putArray("data_offsets").add(offset).add(offset + len);
      offset += len;
    }
    header.putObject("__metadata__").put("format", "pt");
    byte[] hb = JSON.writeValueAsBytes(header);
    int pad = (8 - hb.length % 8) % 8;
    byte[] padded = new byte[hb.length + pad];
    System.arraycopy(hb, 0, padded, 0, hb.length);
    for (int i = hb.length; i < padded.length; i++) {
      padded[i] = ' ';
    }
    try (OutputStream out =
        new java.io.BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
      out.write(
          ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(padded.length).array());
      out.write(padded);
      byte[] chunk = new byte[1 << 20];
      for (Entry e : entries) {
        float[] v = e.data().get();
        if (v.length != e.elements()) {
          throw new IllegalArgumentException(
              e.name() + ": " + v.length + " values for " + e.elements() + " elements");
        }
        int per = chunk.length / e.dtype().bytes();
        for (int i = 0; i < v.length; i += per) {
          int n = Math.min(per, v.length - i);
          ByteBuffer bb = ByteBuffer.wrap(chunk);
          e.dtype().encode(v, i, n, bb);
          out.write(chunk, 0, bb.position());
        }
      }
    }
    // keep the header's charset explicit for readers
    assert new String(padded, StandardCharsets.UTF_8).startsWith("{");
  }

  /**
   * Writes a sharded checkpoint into {@code dir}: {@code model-0000i-of-0000n.safetensors} plus
   * {@code model.safetensors.index.json}; or a single {@code model.safetensors} when shards is 1.
   */
  public static void writeCheckpoint(Path dir, List<Entry> entries, int shards) throws IOException {
    Files.createDirectories(dir);
    if (shards <= 1) {
      write(dir.resolve(SafeTensorsReader.SINGLE_FILE), entries);
      return;
    }
    int n = Math.min(shards, entries.size());
    Map<String, String> weightMap = new LinkedHashMap<>();
    long total = 0;
    for (int s = 0; s < n; s++) {
      List<Entry> part = new ArrayList<>();
      for (int i = s; i < entries.size(); i += n) {
        part.add(entries.get(i));
      }
      String name = String.format("model-%05d-of-%05d.safetensors", s + 1, n);
      write(dir.resolve(name), part);
      for (Entry e : part) {
        weightMap.put(e.name(), name);
        total += e.elements() * e.dtype().bytes();
      }
    }
    ObjectNode index = JSON.createObjectNode();
    index.putObject("metadata").put("total_size", total);
    ObjectNode wm = index.putObject("weight_map");
    weightMap.forEach(wm::put);
    JSON.writerWithDefaultPrettyPrinter()
        .writeValue(dir.resolve(SafeTensorsReader.INDEX_FILE).toFile(), index);
  }
}
