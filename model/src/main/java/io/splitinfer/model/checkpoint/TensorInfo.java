package io.splitinfer.model.checkpoint;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * One tensor of a safetensors file.
 *
 * @param name tensor name (Hugging Face naming)
 * @param dtype element type
 * @param shape dimensions
 * @param file the shard holding it
 * @param offset absolute byte offset of its data in {@code file}
 */
public record TensorInfo(String name, DType dtype, long[] shape, Path file, long offset) {
  public TensorInfo {
    shape = shape.clone();
  }

  @Override
  public long[] shape() {
    return shape.clone();
  }

  public long elements() {
    long n = 1;
    for (long s : shape) {
      n *= s;
    }
    return n;
  }

  public long byteLength() {
    return elements() * dtype.bytes();
  }

  @Override
  public String toString() {
    return name + " " + dtype + Arrays.toString(shape);
  }
}
