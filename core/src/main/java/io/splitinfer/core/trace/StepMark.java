package io.splitinfer.core.trace;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Enabled;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * A point on the per-token path of a split decode step, as a Java Flight Recorder event: where it
 * is ({@link Point}) and when, in {@link System#nanoTime} (CLOCK_MONOTONIC, so marks of the UE and
 * the edge processes on one host line up). Off unless a recording enables {@code
 * splitinfer.StepMark} (see {@code scripts/hop-profile.sh}); a disabled mark costs a field check.
 * {@link HopProfile} turns the marks of both processes into the time of each hop.
 */
@Name("splitinfer.StepMark")
@Label("Split step mark")
@Category("splitinfer")
@Description("A point on the per-token path of a split decode step")
@StackTrace(false)
@Enabled(false)
public final class StepMark extends Event {
  /** The points, in the order one plain decode step passes them. */
  public enum Point {
    UE_COMPUTE_BEGIN("the UE starts embedding + layers 1..p"),
    UE_COMPUTE_END("the UE's layers are done"),
    UE_SEND_BEGIN("HiddenState built, handed to gRPC"),
    UE_SEND_END("gRPC took it (the event loop flushes it)"),
    EDGE_ARRIVED("the edge's transport thread delivers it"),
    EDGE_COMPUTE_BEGIN("input checked, the edge's layers start"),
    EDGE_LAYERS_END("layers p+1..L done"),
    EDGE_HEAD_END("final norm + LM head done"),
    EDGE_SAMPLED("token sampled (and its log-probability)"),
    EDGE_REPLY_BEGIN("Token built (with its text)"),
    EDGE_REPLY_END("gRPC took the Token"),
    EDGE_DONE("the edge's handler returned (next message requested)"),
    UE_ARRIVED("the UE's transport thread delivers the Token"),
    UE_TAKEN("the generating thread has the Token");

    private final String meaning;

    Point(String meaning) {
      this.meaning = meaning;
    }

    public String meaning() {
      return meaning;
    }
  }

  @Label("Point")
  public String point;

  @Label("Monotonic time")
  @Description("System.nanoTime() when the point was passed")
  public long nanos;

  /** Marks {@code p} now, if a recording enabled this event. */
  public static void at(Point p) {
    StepMark m = new StepMark();
    if (m.isEnabled()) {
      m.point = p.name();
      m.nanos = System.nanoTime();
      m.commit();
    }
  }
}
