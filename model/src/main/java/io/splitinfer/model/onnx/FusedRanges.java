package io.splitinfer.model.onnx;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.splitinfer.model.pkg.ModelPackage;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sessions over merged ranges of layers ({@link LayerFusion}), built on demand and cached per range
 * [from, to]. The {@value #BUILD_AFTER_RUNS}th run of a range schedules its build on a background
 * thread (the engine counts runs of at most {@value #COUNTED_MAX_ROWS} positions, not prefill
 * chunks); until the merged session is ready, runs go through the per-layer parts (the fallback:
 * the split can change at runtime, and a new range runs at once), then through the merged one. At
 * most {@link #MAX_RANGES} ranges are kept (least recently used goes; a session in use is closed
 * when its last run ends). A range whose parts hold more than the bound, keep weights in external
 * data, or fail to merge or load runs per layer for good (one log line). Thread-safe; lock order:
 * this, then an entry, never the reverse (a build that finishes reads {@code closed} without this
 * monitor: it used to take it inside its entry's and deadlocked against an eviction).
 */
final class FusedRanges implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FusedRanges.class);

  /** Ranges kept: a UE's and an edge's current range, and the ones before a split switch. */
  static final int MAX_RANGES = 4;

  /**
   * A range is merged from its {@value}th run on (a range run only briefly, e.g. between two split
   * switches of a busy edge, is not worth a build: it parses the parts and creates a session).
   */
  static final int BUILD_AFTER_RUNS = 8;

  /**
   * Most positions of a run that counts toward a build: decode steps (1) and speculative rounds (up
   * to 17 rows) do, prefill chunks (128 by default, 64 in the UE image) do not.
   */
  static final int COUNTED_MAX_ROWS = 32;

  private final OrtEnvironment env;
  private final OrtSession.SessionOptions options;
  private final ModelPackage pkg;
  private final long maxBytes;

  /** Access-ordered: the eldest entry is the least recently used. */
  private final LinkedHashMap<Long, Entry> ranges = new LinkedHashMap<>(8, 0.75f, true);

  private final Set<Long> refused = new HashSet<>();

  /** Runs of each range not merged yet. */
  private final Map<Long, Integer> uses = new HashMap<>();

  private ExecutorService builder;
  private volatile boolean closed;

  FusedRanges(
      OrtEnvironment env, OrtSession.SessionOptions options, ModelPackage pkg, long maxBytes) {
    this.env = env;
    this.options = options;
    this.pkg = pkg;
    this.maxBytes = maxBytes;
  }

  /** A merged session of layers [from, to] in use; {@link #close()} it when the run is done. */
  static final class Lease implements AutoCloseable {
    final OrtSession session;
    final Set<String> outputs;
    private final Entry entry;

    private Lease(Entry e) {
      this.entry = e;
      this.session = e.session;
      this.outputs = e.outputs;
    }

    @Override
    public void close() {
      entry.release();
    }
  }

  private static final class Entry {
    volatile OrtSession session;
    Set<String> outputs;
    final AtomicInteger users = new AtomicInteger();
    final Object buildLock = new Object();
    boolean retired;

    synchronized boolean acquire() {
      if (retired || session == null) {
        return false;
      }
      users.incrementAndGet();
      return true;
    }

    synchronized void release() {
      if (users.decrementAndGet() == 0 && retired) {
        closeSession();
      }
    }

    synchronized void retire() {
      retired = true;
      if (users.get() == 0) {
        closeSession();
      }
    }

    private void closeSession() {
      OrtSession s = session;
      session = null;
      if (s != null) {
        try {
          s.close();
        } catch (OrtException e) {
          LOG.debug("closing a merged session: {}", e.getMessage());
        }
      }
    }
  }

  private static long key(int from, int to) {
    return ((long) from << 32) | to;
  }

  /**
   * The merged session of [from, to] when it is ready (null otherwise, after scheduling its build
   * when {@code schedule}). Ranges of one layer are never merged.
   */
  Lease acquire(int from, int to, boolean schedule) {
    if (maxBytes == 0 || to <= from) {
      return null;
    }
    long k = key(from, to);
    Entry e;
    synchronized (this) {
      if (closed || refused.contains(k)) {
        return null;
      }
      e = ranges.get(k);
      if (e == null) {
        if (!schedule || uses.merge(k, 1, Integer::sum) < BUILD_AFTER_RUNS) {
          if (uses.size() > 4096) {
            uses.clear();
          }
          return null;
        }
        uses.remove(k);
        e = new Entry();
        ranges.put(k, e);
        evictBeyondLimit();
        if (builder == null) {
          builder =
              Executors.newSingleThreadExecutor(
                  r -> {
                    Thread t = new Thread(r, "splitinfer-fuse-layers");
                    t.setDaemon(true);
                    return t;
                  });
        }
        Entry target = e;
        builder.execute(() -> build(from, to, target));
        return null;
      }
    }
    return e.acquire() ? new Lease(e) : null;
  }

  /** Builds [from, to] now on the calling thread (warm-up, tests); true when it is ready. */
  boolean buildNow(int from, int to) {
    if (maxBytes == 0 || to <= from) {
      return false;
    }
    long k = key(from, to);
    Entry e;
    synchronized (this) {
      if (closed || refused.contains(k)) {
        return false;
      }
      e = ranges.get(k);
      if (e == null) {
        e = new Entry();
        ranges.put(k, e);
        evictBeyondLimit();
      }
    }
    build(from, to, e);
    return e.session != null;
  }

  private void evictBeyondLimit() {
    while (ranges.size() > MAX_RANGES) {
      var it = ranges.entrySet().iterator();
      Map.Entry<Long, Entry> eldest = it.next();
      it.remove();
      eldest.getValue().retire();
    }
  }

  private void build(int from, int to, Entry e) {
    synchronized (e.buildLock) {
      synchronized (e) {
        if (e.session != null || e.retired) {
          return;
        }
      }
      buildLocked(from, to, e);
    }
  }

  private void buildLocked(int from, int to, Entry e) {
    long k = key(from, to);
    try {
      long bytes = 0;
      List<ModelProto> parts = new ArrayList<>();
      for (int l = from; l <= to; l++) {
        Path p = pkg.layerPart(l);
        bytes += Files.size(p);
        if (Files.exists(Path.of(p + ".data"))) {
          refuse(k, e, "layer " + l + " keeps its weights in external data");
          return;
        }
      }
      if (bytes > maxBytes) {
        refuse(k, e, bytes + " bytes of parts, above the bound of " + maxBytes);
        return;
      }
      for (int l = from; l <= to; l++) {
        parts.add(LayerFusion.read(pkg.layerPart(l)));
      }
      ByteBuffer merged = LayerFusion.serialize(LayerFusion.merge(parts, from));
      parts.clear();
      long t0 = System.nanoTime();
      OrtSession s;
      try {
        s = env.createSession(merged, options);
      } finally {
        DirectMemory.free(merged);
      }
      Set<String> outputs = new HashSet<>(s.getOutputNames());
      synchronized (e) {
        // never this monitor here: acquire and buildNow retire entries while they hold it
        if (closed || e.retired) {
          s.close();
          return;
        }
        e.outputs = outputs;
        e.session = s;
      }
      LOG.debug(
          "layers {}..{} merged into one session ({} bytes, {} ms)",
          from,
          to,
          merged.capacity(),
          (System.nanoTime() - t0) / 1_000_000);
    } catch (IOException | OrtException | RuntimeException ex) {
      refuse(k, e, ex.getMessage());
    }
  }

  private void refuse(long k, Entry e, String why) {
    synchronized (this) {
      refused.add(k);
      ranges.remove(k, e);
    }
    e.retire();
    LOG.info("layers {}..{} run one part per call: {}", k >>> 32, k & 0xffffffffL, why);
  }

  /** The merged sessions ready now (profiling). */
  synchronized List<OrtSession> sessions() {
    List<OrtSession> out = new ArrayList<>();
    for (Entry e : ranges.values()) {
      OrtSession s = e.session;
      if (s != null) {
        out.add(s);
      }
    }
    return out;
  }

  @Override
  public void close() {
    List<Entry> all;
    ExecutorService b;
    synchronized (this) {
      closed = true;
      all = new ArrayList<>(ranges.values());
      ranges.clear();
      b = builder;
    }
    if (b != null) {
      // a build in progress uses the engine's session options, which are closed after this:
      // wait for it (session creation cannot be interrupted)
      b.shutdownNow();
      try {
        if (!b.awaitTermination(5, TimeUnit.MINUTES)) {
          LOG.warn("a merged-layers build did not finish within 5 minutes of close");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    for (Entry e : all) {
      e.retire();
    }
  }
}
