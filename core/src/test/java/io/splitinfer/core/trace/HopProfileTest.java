package io.splitinfer.core.trace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.core.trace.StepMark.Point;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import jdk.jfr.Recording;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HopProfileTest {
  /** Marks every point of the path once, {@code gapUs} apart per hop, from {@code t0}. */
  private static long step(List<Long> nanos, List<Point> points, long t0, long gapUs) {
    long t = t0;
    for (Point p : Point.values()) {
      nanos.add(t);
      points.add(p);
      t += gapUs * 1000 + p.ordinal() * 1000L; // hop k takes gapUs + k us
    }
    return t;
  }

  private static HopProfile.Result profile(List<Long> nanos, List<Point> points) {
    return HopProfile.profile(
        nanos.stream().mapToLong(Long::longValue).toArray(), points.toArray(new Point[0]));
  }

  @Test
  void countsOnlyCompleteStepsAndTimesEachHop() {
    List<Long> nanos = new ArrayList<>();
    List<Point> points = new ArrayList<>();
    long t = step(nanos, points, 0, 10);
    t = step(nanos, points, t, 10);
    // a prefill between runs: the edge sees a message but no single-row compute
    nanos.add(t);
    points.add(Point.EDGE_ARRIVED);
    nanos.add(t + 5_000);
    points.add(Point.EDGE_DONE);
    t = step(nanos, points, t + 1_000_000, 10);
    // a step cut short (the stream died): not counted
    nanos.add(t);
    points.add(Point.UE_COMPUTE_BEGIN);
    nanos.add(t + 1_000);
    points.add(Point.UE_COMPUTE_END);

    HopProfile.Result r = profile(nanos, points);
    assertEquals(3, r.steps());
    int hops = Point.values().length;
    assertEquals(hops, r.hops().size(), "every hop of the path, plus the one back to its start");
    for (int k = 0; k < hops - 1; k++) {
      assertEquals(10 + k, r.hops().get(k).p50Us(), 1e-9, r.hops().get(k).toString());
    }
    // back to the start: only the first step is followed at once by another (the second by the
    // prefill), and it took 10 + (hops - 1) us
    HopProfile.Hop back = r.hops().get(hops - 1);
    assertEquals(Point.UE_TAKEN, back.from());
    assertEquals(Point.UE_COMPUTE_BEGIN, back.to());
    assertEquals(10 + hops - 1, back.p50Us(), 1e-9);
    assertEquals(10L * hops + (long) hops * (hops - 1) / 2, (long) r.stepP50Us());
  }

  @Test
  void noStepGivesNaNNotAnError() {
    HopProfile.Result r =
        HopProfile.profile(new long[] {1, 2}, new Point[] {Point.EDGE_ARRIVED, Point.EDGE_DONE});
    assertEquals(0, r.steps());
    assertTrue(Double.isNaN(r.stepP50Us()));
  }

  @Test
  void readsMarksFromARealRecording(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("marks.jfr");
    try (Recording rec = new Recording()) {
      rec.enable("splitinfer.StepMark");
      rec.start();
      for (int s = 0; s < 3; s++) {
        for (Point p : Point.values()) {
          StepMark.at(p);
        }
      }
      rec.stop();
      rec.dump(file);
    }
    // not enabled: nothing is recorded
    StepMark.at(Point.UE_COMPUTE_BEGIN);
    HopProfile.Result r = HopProfile.read(List.of(file));
    assertEquals(3, r.steps());
    for (HopProfile.Hop h : r.hops()) {
      assertTrue(h.p50Us() >= 0, h.toString());
    }
  }
}
