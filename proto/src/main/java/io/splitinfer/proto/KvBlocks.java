package io.splitinfer.proto;

import io.splitinfer.proto.v1.DType;
import io.splitinfer.proto.v1.KvTransfer;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * The one KV export loop of a split switch, used by both sides: the layers that change hands, each
 * for positions [0, length) in blocks of at most {@code chunk} positions, as {@link KvTransfer}
 * messages with [kvHeads, T, headDim] f32 tensors. The iterator is lazy: a block is read from the
 * cache and encoded only when the caller asks for it, so a sender that waits for its stream to be
 * ready never holds more than one block. It does not own or change the cache.
 */
public final class KvBlocks {
  private KvBlocks() {}

  /** Reads keys or values of {@code layer} for positions [from, to) as [kvHeads, T, headDim]. */
  @FunctionalInterface
  public interface Reader {
    float[] read(int layer, int from, int to);
  }

  /** What moves: layers firstLayer..lastLayer (inclusive), positions [0, length). */
  public record Plan(
      String sessionId,
      long epoch,
      int firstLayer,
      int lastLayer,
      int length,
      int chunk,
      int kvHeads,
      int headDim) {
    public Plan {
      if (chunk < 1) {
        throw new IllegalArgumentException("chunk must be >= 1, got " + chunk);
      }
    }

    /** Messages this plan produces. */
    public long blocks() {
      int layers = Math.max(0, lastLayer - firstLayer + 1);
      return (long) layers * ((length + chunk - 1) / chunk);
    }
  }

  /** The plan's KvTransfer messages in layer, then position order, built on demand. */
  public static Iterator<KvTransfer> export(Plan plan, Reader keys, Reader values) {
    return new Iterator<>() {
      int layer = plan.firstLayer();
      int from = 0;

      @Override
      public boolean hasNext() {
        return plan.length() > 0 && layer <= plan.lastLayer();
      }

      @Override
      public KvTransfer next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        int to = Math.min(plan.length(), from + plan.chunk());
        long[] shape = {plan.kvHeads(), to - from, plan.headDim()};
        KvTransfer kv =
            KvTransfer.newBuilder()
                .setSessionId(plan.sessionId())
                .setEpoch(plan.epoch())
                .setLayer(layer)
                .setFirstPosition(from)
                .setKey(TensorCodec.encode(keys.read(layer, from, to), DType.DTYPE_F32, shape))
                .setValue(TensorCodec.encode(values.read(layer, from, to), DType.DTYPE_F32, shape))
                .build();
        from = to;
        if (from >= plan.length()) {
          from = 0;
          layer++;
        }
        return kv;
      }
    };
  }

  /** Positions (T) carried by a KvTransfer (dimension 1 of its key tensor). */
  public static int tokens(KvTransfer kv) {
    return (int) kv.getKey().getShape(1);
  }
}
