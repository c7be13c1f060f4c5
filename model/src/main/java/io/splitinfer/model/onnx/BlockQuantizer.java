package io.splitinfer.model.onnx;

/**
 * Block-wise quantization of a weight matrix in the layout of ONNX Runtime's {@code
 * com.microsoft.MatMulNBits} ({@code Y = A · dequant(B)ᵀ}, B in Hugging Face orientation {@code [N,
 * K]}):
 *
 * <ul>
 *   <li>{@code B}: uint8 {@code [N, nBlocks, blob]}, {@code nBlocks = ceil(K / block)}, {@code blob
 *       = block * bits / 8}; codes packed low bits first along K (4-bit: element 2j in the low
 *       nibble of byte j). Padding past K holds the zero point (dequantizes to 0).
 *   <li>{@code scales}: float {@code [N * nBlocks]}.
 *   <li>{@code zero_points} (asymmetric only): uint8 {@code [N * ceil(nBlocks * bits / 8)]}, packed
 *       like B per row (4-bit: block 2j in the low nibble). Absent means the midpoint {@code
 *       2^(bits-1)}.
 * </ul>
 *
 * Symmetric: {@code scale = max|w| / (2^(bits-1) - 1)}, code {@code = round(w / scale) +
 * 2^(bits-1)}. Asymmetric: the block's range (widened to include 0) over {@code 2^bits - 1} levels,
 * {@code zp = round(-min / scale)}.
 */
public final class BlockQuantizer {
  private BlockQuantizer() {}

  /** A quantized matrix. {@code zeroPoints} is null for symmetric quantization. */
  public record Quantized(
      int n, int k, int bits, int block, byte[] packed, float[] scales, byte[] zeroPoints) {
    public int blocks() {
      return (k + block - 1) / block;
    }

    public int blobBytes() {
      return block * bits / 8;
    }

    /** Bytes of zero points per row. */
    public int zeroPointRowBytes() {
      return (blocks() * bits + 7) / 8;
    }

    /** The dequantized matrix {@code [n, k]} (what MatMulNBits multiplies by). */
    public float[] dequantize() {
      float[] out = new float[n * k];
      int nb = blocks();
      int mid = 1 << (bits - 1);
      for (int r = 0; r < n; r++) {
        for (int b = 0; b < nb; b++) {
          float s = scales[r * nb + b];
          int zp = zeroPoints == null ? mid : code(zeroPoints, r * zeroPointRowBytes(), b, bits);
          int base = (r * nb + b) * blobBytes();
          for (int j = 0; j < block && b * block + j < k; j++) {
            out[r * k + b * block + j] = (code(packed, base, j, bits) - zp) * s;
          }
        }
      }
      return out;
    }
  }

  private static int code(byte[] a, int base, int i, int bits) {
    if (bits == 8) {
      return a[base + i] & 0xff;
    }
    int v = a[base + i / 2] & 0xff;
    return (i & 1) == 0 ? v & 0x0f : v >>> 4;
  }

  private static void put(byte[] a, int base, int i, int bits, int code) {
    if (bits == 8) {
      a[base + i] = (byte) code;
    } else if ((i & 1) == 0) {
      a[base + i / 2] = (byte) ((a[base + i / 2] & 0xf0) | code);
    } else {
      a[base + i / 2] = (byte) ((a[base + i / 2] & 0x0f) | (code << 4));
    }
  }

  /** Quantizes {@code w} ({@code [n, k]} row-major) with {@code bits} (4 or 8) per weight. */
  public static Quantized quantize(
      float[] w, int n, int k, int bits, int block, boolean symmetric) {
    if (bits != 4 && bits != 8) {
      throw new IllegalArgumentException("bits must be 4 or 8");
    }
    if (w.length != n * k) {
      throw new IllegalArgumentException("matrix has " + w.length + " values, not " + n * k);
    }
    int nb = (k + block - 1) / block;
    int blob = block * bits / 8;
    int levels = (1 << bits) - 1;
    int mid = 1 << (bits - 1);
    byte[] packed = new byte[n * nb * blob];
    float[] scales = new float[n * nb];
    int zpRow = (nb * bits + 7) / 8;
    byte[] zps = symmetric ? null : new byte[n * zpRow];
    for (int r = 0; r < n; r++) {
      for (int b = 0; b < nb; b++) {
        int from = r * k + b * block;
        int len = Math.min(block, k - b * block);
        float mn = 0;
        float mx = 0;
        for (int j = 0; j < len; j++) {
          mn = Math.min(mn, w[from + j]);
          mx = Math.max(mx, w[from + j]);
        }
        float scale;
        int zp;
        if (symmetric) {
          scale = Math.max(-mn, mx) / (mid - 1);
          zp = mid;
        } else {
          scale = (mx - mn) / levels;
          zp = scale == 0 ? mid : Math.min(levels, Math.max(0, Math.round(-mn / scale)));
          put(zps, r * zpRow, b, bits, zp);
        }
        scales[r * nb + b] = scale;
        int base = (r * nb + b) * blob;
        for (int j = 0; j < block; j++) {
          int q = zp;
          if (j < len && scale != 0) {
            q = Math.min(levels, Math.max(0, Math.round(w[from + j] / scale) + zp));
          }
          put(packed, base, j, bits, q);
        }
      }
    }
    return new Quantized(n, k, bits, block, packed, scales, zps);
  }

  /** Symmetric int8 with one scale per row: codes {@code [n, k]} and scales {@code [n]}. */
  public record RowInt8(byte[] codes, float[] scales) {}

  public static RowInt8 quantizeRows(float[] w, int n, int k) {
    byte[] codes = new byte[n * k];
    float[] scales = new float[n];
    for (int r = 0; r < n; r++) {
      float amax = 0;
      for (int j = 0; j < k; j++) {
        amax = Math.max(amax, Math.abs(w[r * k + j]));
      }
      float s = amax / 127f;
      scales[r] = s;
      for (int j = 0; j < k && s != 0; j++) {
        codes[r * k + j] = (byte) Math.max(-127, Math.min(127, Math.round(w[r * k + j] / s)));
      }
    }
    return new RowInt8(codes, scales);
  }
}
