package io.splitinfer.model.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads safetensors checkpoints: one {@code model.safetensors} file, or shards listed by {@code
 * model.safetensors.index.json}. Tensor data are memory-mapped tensor by tensor, so files larger
 * than 2 GB work; F32, F16 and BF16 are converted to float32.
 */
public final class SafeTensorsReader implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final String SINGLE_FILE = "model.safetensors";
  public static final String INDEX_FILE = "model.safetensors.index.json";

  private final Map<String, TensorInfo> tensors;
  private final Map<Path, FileChannel> channels;

  private SafeTensorsReader(Map<String, TensorInfo> tensors, Map<Path, FileChannel> channels) {
    this.tensors = tensors;
    this.channels = channels;
  }

  /** Opens a checkpoint directory (index file or single file) or one {@code .safetensors} file. */
  public static SafeTensorsReader open(Path path) throws IOException {
    Map<String, TensorInfo> all = new TreeMap<>();
    Map<Path, FileChannel> channels = new LinkedHashMap<>();
    try {
      if (Files.isDirectory(path)) {
        Path index = path.resolve(INDEX_FILE);
        if (Files.exists(index)) {
          JsonNode map = JSON.readTree(index.toFile()).path("weight_map");
          if (!map.isObject()) {
            throw new IOException(index + ": no weight_map object");
          }
          Map<String, String> nameToShard = new TreeMap<>();
          for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            var e = it.next();
            nameToShard.put(e.getKey(), e.getValue().asText());
          }
          for (String shard : new java.util.TreeSet<>(nameToShard.values())) {
            readHeader(path.resolve(shard), all, channels);
          }
          for (String name : nameToShard.keySet()) {
            if (!all.containsKey(name)) {
              throw new IOException(
                  index + " lists " + name + " in " + nameToShard.get(name) + ", which lacks it");
            }
          }
        } else if (Files.exists(path.resolve(SINGLE_FILE))) {
          readHeader(path.resolve(SINGLE_FILE), all, channels);
        } else {
          throw new IOException(
              "no " + SINGLE_FILE + " or " + INDEX_FILE + " in " + path.toAbsolutePath());
        }
      } else {
        readHeader(path, all, channels);
      }
    } catch (IOException | RuntimeException e) {
      for (FileChannel c : channels.values()) {
        c.close();
      }
      throw e;
    }
    return new SafeTensorsReader(Collections.unmodifiableMap(all), channels);
  }

  private static void readHeader(Path file, Map<String, TensorInfo> out, Map<Path, FileChannel> ch)
      throws IOException {
    FileChannel c = FileChannel.open(file, StandardOpenOption.READ);
    ch.put(file, c);
    long size = c.size();
    ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    if (c.read(lenBuf, 0) != 8) {
      throw new IOException(file + ": too short for a safetensors header");
    }
    long headerLen = lenBuf.getLong(0);
    if (headerLen <= 0 || headerLen > 100_000_000 || 8 + headerLen > size) {
      throw new IOException(file + ": bad safetensors header length " + headerLen);
    }
    ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
    while (hb.hasRemaining()) {
      if (c.read(hb, 8 + hb.position()) < 0) {
        throw new IOException(file + ": truncated header");
      }
    }
    JsonNode header = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
    long dataStart = 8 + headerLen;
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      var e = it.next();
      if (e.getKey().equals("__metadata__")) {
        continue;
      }
      JsonNode t = e.getValue();
      DType dtype;
      try {
        dtype = DType.parse(t.path("dtype").asText());
      } catch (IllegalArgumentException ex) {
        throw new IOException(file + ": tensor " + e.getKey() + ": " + ex.getMessage(), ex);
      }
      JsonNode shapeNode = t.path("shape");
      long[] shape = new long[shapeNode.size()];
      for (int i = 0; i < shape.length; i++) {
        shape[i] = shapeNode.get(i).asLong();
      }
      long begin = t.path("data_offsets").path(0).asLong(-1);
      long end = t.path("data_offsets").path(1).asLong(-1);
      TensorInfo info = new TensorInfo(e.getKey(), dtype, shape, file, dataStart + begin);
      if (begin < 0 || end - begin != info.byteLength() || dataStart + end > size) {
        throw new IOException(
            file
                + ": tensor "
                + e.getKey()
                + " has inconsistent data_offsets ["
                + begin
                + ", "
                + end
                + "] for "
                + info);
      }
      if (out.put(e.getKey(), info) != null) {
        throw new IOException("tensor " + e.getKey() + " appears in more than one shard");
      }
    }
  }

  public Set<String> names() {
    return tensors.keySet();
  }

  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  public TensorInfo info(String name) {
    TensorInfo t = tensors.get(name);
    if (t == null) {
      throw new IllegalArgumentException("checkpoint has no tensor " + name);
    }
    return t;
  }

  /** The raw little-endian bytes of a tensor, memory-mapped (no copy). */
  public ByteBuffer raw(String name) {
    TensorInfo t = info(name);
    long len = t.byteLength();
    if (len > Integer.MAX_VALUE) {
      throw new IllegalStateException(name + " is larger than 2 GB; read it in rows");
    }
    try {
      MappedByteBuffer m =
          channels.get(t.file()).map(FileChannel.MapMode.READ_ONLY, t.offset(), len);
      return m.order(ByteOrder.LITTLE_ENDIAN);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot map " + name + " of " + t.file(), e);
    }
  }

  /** The tensor as float32, row-major. */
  public float[] floats(String name) {
    TensorInfo t = info(name);
    long n = t.elements();
    if (n > Integer.MAX_VALUE - 16) {
      throw new IllegalStateException(name + " has too many elements for one array: " + n);
    }
    float[] out = new float[(int) n];
    t.dtype().decode(raw(name), out, 0, (int) n);
    return out;
  }

  /** The tensor as float32, checking its shape. */
  public float[] floats(String name, long... expectedShape) {
    TensorInfo t = info(name);
    if (!Arrays.equals(t.shape(), expectedShape)) {
      throw new IllegalArgumentException(
          "tensor "
              + name
              + " has shape "
              + Arrays.toString(t.shape())
              + ", config.json implies "
              + Arrays.toString(expectedShape));
    }
    return floats(name);
  }

  @Override
  public void close() {
    for (FileChannel c : channels.values()) {
      try {
        c.close();
      } catch (IOException ignored) {
        // closing a read-only channel
      }
    }
  }
}
