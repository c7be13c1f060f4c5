package io.splitinfer.model.onnx;

import io.splitinfer.model.checkpoint.DType;
import java.util.Locale;

/**
 * How a part stores its matrix weights.
 *
 * <ul>
 *   <li>{@code f32}, {@code f16}: plain initializers (f16 through a {@code Cast}), standard {@code
 *       MatMul}.
 *   <li>{@code int8}, {@code int4}: block-quantized along the reduction axis K in groups of {@code
 *       groupSize}, run by ONNX Runtime's {@code com.microsoft.MatMulNBits} (weights stay packed in
 *       memory; dequantized as {@code (code - zero_point) * scale}). Symmetric: the zero point is
 *       the code midpoint (8 or 128) and is not stored; asymmetric: a zero point per block is
 *       stored. {@code accuracyLevel} is MatMulNBits' {@code accuracy_level} (0: float32 compute;
 *       4: activations quantized to int8 per block, integer dot products, fastest on CPU).
 * </ul>
 *
 * <p>Norm weights and RoPE tables stay float32 in every format. In the int8/int4 formats the
 * embedding table is int8 with one scale per row ({@code Gather} + {@code Mul}) and the LM head is
 * int8 with the same group size (as llama.cpp keeps the output matrix at a higher precision).
 *
 * <p>Text form (in the manifest): {@code f32}, {@code f16}, {@code int4-g32-sym-a4}, {@code
 * int8-g64-asym-a0}, ...; {@link #parse} also accepts the short forms {@code int4} / {@code int8}
 * (group 32, symmetric, accuracy level 4).
 */
public record WeightFormat(Kind kind, int groupSize, boolean symmetric, int accuracyLevel) {
  /** Storage kinds. */
  public enum Kind {
    F32,
    F16,
    INT8,
    INT4;

    public boolean quantized() {
      return this == INT8 || this == INT4;
    }

    public int bits() {
      return switch (this) {
        case F32 -> 32;
        case F16 -> 16;
        case INT8 -> 8;
        case INT4 -> 4;
      };
    }
  }

  public static final int DEFAULT_GROUP = 32;
  public static final int DEFAULT_ACCURACY_LEVEL = 4;
  public static final WeightFormat F32 = new WeightFormat(Kind.F32, 0, true, 0);
  public static final WeightFormat F16 = new WeightFormat(Kind.F16, 0, true, 0);

  public WeightFormat {
    if (kind.quantized()) {
      if (groupSize < 16 || Integer.bitCount(groupSize) != 1) {
        throw new IllegalArgumentException(
            "group size must be a power of two >= 16 (MatMulNBits block_size), got " + groupSize);
      }
      if (accuracyLevel < 0 || accuracyLevel > 4) {
        throw new IllegalArgumentException("accuracy level must be 0..4, got " + accuracyLevel);
      }
    } else {
      groupSize = 0;
      symmetric = true;
      accuracyLevel = 0;
    }
  }

  /** A quantized format. */
  public static WeightFormat quantized(int bits, int group, boolean symmetric, int accuracy) {
    Kind k =
        switch (bits) {
          case 8 -> Kind.INT8;
          case 4 -> Kind.INT4;
          default -> throw new IllegalArgumentException("bits must be 4 or 8, got " + bits);
        };
    return new WeightFormat(k, group, symmetric, accuracy);
  }

  public static WeightFormat of(DType dtype) {
    return switch (dtype) {
      case F32 -> F32;
      case F16 -> F16;
      default -> throw new IllegalArgumentException("parts store f32, f16, int8 or int4");
    };
  }

  /** Parses the text form (see the class doc). */
  public static WeightFormat parse(String s) {
    String[] f = s.strip().toLowerCase(Locale.ROOT).split("-");
    Kind k;
    try {
      k = Kind.valueOf(f[0].toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "unknown weight format '" + s + "' (f32, f16, int8, int4[-gN][-sym|-asym][-aL])");
    }
    if (!k.quantized()) {
      if (f.length > 1) {
        throw new IllegalArgumentException("'" + s + "': f32/f16 take no options");
      }
      return k == Kind.F32 ? F32 : F16;
    }
    int group = DEFAULT_GROUP;
    boolean sym = true;
    int acc = DEFAULT_ACCURACY_LEVEL;
    for (int i = 1; i < f.length; i++) {
      String o = f[i];
      try {
        if (o.equals("sym") || o.equals("asym")) {
          sym = o.equals("sym");
        } else if (o.startsWith("g")) {
          group = Integer.parseInt(o.substring(1));
        } else if (o.startsWith("a")) {
          acc = Integer.parseInt(o.substring(1));
        } else {
          throw new IllegalArgumentException("unknown option '" + o + "' in weight format " + s);
        }
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("bad number in weight format option '" + o + "'");
      }
    }
    return new WeightFormat(k, group, sym, acc);
  }

  /** The same format with another group size / symmetry / accuracy level. */
  public WeightFormat with(int group, boolean sym, int accuracy) {
    return kind.quantized() ? new WeightFormat(kind, group, sym, accuracy) : this;
  }

  /** Format of the LM head: int8 with the same options for a quantized format, else this. */
  public WeightFormat headFormat() {
    return kind.quantized()
        ? new WeightFormat(Kind.INT8, groupSize, symmetric, accuracyLevel)
        : this;
  }

  public boolean quantized() {
    return kind.quantized();
  }

  /** Storage of the unquantized tensors: f16 for f16, else f32. */
  public DType floatDType() {
    return kind == Kind.F16 ? DType.F16 : DType.F32;
  }

  @Override
  public String toString() {
    if (!kind.quantized()) {
      return kind.name().toLowerCase(Locale.ROOT);
    }
    return kind.name().toLowerCase(Locale.ROOT)
        + "-g"
        + groupSize
        + (symmetric ? "-sym" : "-asym")
        + "-a"
        + accuracyLevel;
  }
}
