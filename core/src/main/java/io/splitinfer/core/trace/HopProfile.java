package io.splitinfer.core.trace;

import io.splitinfer.core.trace.StepMark.Point;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where a split decode step's time goes: the {@link StepMark}s of the UE and the edge (one
 * recording each, or one for both) merged in time order, every full run of the points in {@link
 * Point} order taken as one step, and per hop (one point to the next) the median, mean and 90th
 * percentile over those steps. The last hop, from the UE having the Token to its next step's
 * compute, counts only steps followed at once by another step. Steps whose marks interleave with
 * anything else (prefill chunks, switches, pilots, speculative rounds) are not counted.
 */
public final class HopProfile {
  /** One hop's statistics over the counted steps, in microseconds. */
  public record Hop(Point from, Point to, double p50Us, double meanUs, double p90Us) {}

  /**
   * The hops in path order (the last one back to the first point), the steps counted, and the whole
   * step (first point to the next step's first point).
   */
  public record Result(List<Hop> hops, int steps, double stepP50Us, double stepMeanUs) {}

  private record Mark(long nanos, Point point) {}

  private HopProfile() {}

  /** Reads the StepMarks of {@code recordings} and profiles them. */
  public static Result read(List<Path> recordings) throws IOException {
    List<Mark> marks = new ArrayList<>();
    for (Path f : recordings) {
      for (RecordedEvent e : RecordingFile.readAllEvents(f)) {
        if (e.getEventType().getName().equals("splitinfer.StepMark")) {
          marks.add(new Mark(e.getLong("nanos"), Point.valueOf(e.getString("point"))));
        }
      }
    }
    long[] nanos = new long[marks.size()];
    Point[] points = new Point[marks.size()];
    marks.sort((a, b) -> Long.compare(a.nanos(), b.nanos()));
    for (int i = 0; i < nanos.length; i++) {
      nanos[i] = marks.get(i).nanos();
      points[i] = marks.get(i).point();
    }
    return profile(nanos, points);
  }

  /** Profiles marks already in time order. */
  public static Result profile(long[] nanos, Point[] points) {
    Point[] path = Point.values();
    int hops = path.length - 1;
    List<long[]> gaps = new ArrayList<>();
    List<Long> cycles = new ArrayList<>();
    List<Long> between = new ArrayList<>();
    int i = 0;
    while (i + path.length <= points.length) {
      if (!matches(points, i, path)) {
        i++;
        continue;
      }
      long[] g = new long[hops];
      for (int k = 0; k < hops; k++) {
        g[k] = nanos[i + k + 1] - nanos[i + k];
      }
      gaps.add(g);
      int next = i + path.length;
      if (next < points.length && points[next] == path[0]) {
        cycles.add(nanos[next] - nanos[i]);
        between.add(nanos[next] - nanos[next - 1]);
      }
      i = next;
    }
    List<Hop> out = new ArrayList<>();
    for (int k = 0; k < hops; k++) {
      long[] v = new long[gaps.size()];
      for (int s = 0; s < v.length; s++) {
        v[s] = gaps.get(s)[k];
      }
      out.add(new Hop(path[k], path[k + 1], pct(v, 50), mean(v), pct(v, 90)));
    }
    long[] b = between.stream().mapToLong(Long::longValue).toArray();
    out.add(new Hop(path[hops], path[0], pct(b, 50), mean(b), pct(b, 90)));
    long[] c = cycles.stream().mapToLong(Long::longValue).toArray();
    return new Result(out, gaps.size(), pct(c, 50), mean(c));
  }

  private static boolean matches(Point[] points, int at, Point[] path) {
    for (int k = 0; k < path.length; k++) {
      if (points[at + k] != path[k]) {
        return false;
      }
    }
    return true;
  }

  private static double pct(long[] v, int p) {
    if (v.length == 0) {
      return Double.NaN;
    }
    long[] s = v.clone();
    Arrays.sort(s);
    return s[Math.min(s.length - 1, s.length * p / 100)] / 1e3;
  }

  private static double mean(long[] v) {
    return v.length == 0 ? Double.NaN : Arrays.stream(v).average().orElse(0) / 1e3;
  }
}
