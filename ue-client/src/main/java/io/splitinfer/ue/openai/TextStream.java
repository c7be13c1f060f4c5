package io.splitinfer.ue.openai;

import java.util.Arrays;
import java.util.List;
import java.util.function.Function;

/**
 * Generated tokens to the text deltas a client sees, with stop strings. Text comes from decoding
 * the growing id prefix with the UE's tokenizer (so a character split across byte-level tokens is
 * emitted whole: a trailing U+FFFD is held back), or, for packages without a tokenizer, from the
 * edge's pieces. Text that could still become a stop string is held back until it cannot; once a
 * stop string appears the text ends just before it.
 */
final class TextStream {
  private final Function<int[], String> decoder;
  private final List<String> stops;
  private int[] ids = new int[16];
  private int count;
  private final StringBuilder pieces = new StringBuilder();
  private String text = "";
  private int emitted;
  private boolean stopped;

  /** {@code decoder} null: use the edge's pieces. */
  TextStream(Function<int[], String> decoder, List<String> stops) {
    this.decoder = decoder;
    this.stops = stops;
  }

  /** Adds a (non-EOS) token; returns the text that can be sent now (possibly empty). */
  String add(int id, String edgePiece) {
    if (stopped) {
      return "";
    }
    if (count == ids.length) {
      ids = Arrays.copyOf(ids, count * 2);
    }
    ids[count++] = id;
    pieces.append(edgePiece);
    text = decoder != null ? decoder.apply(Arrays.copyOf(ids, count)) : pieces.toString();
    int safe = text.endsWith("\uFFFD") ? text.length() - 1 : text.length();
    for (String s : stops) {
      int at = text.indexOf(s, Math.max(0, emitted - s.length() + 1));
      if (at >= 0) {
        stopped = true;
        text = text.substring(0, at);
        return take(at);
      }
    }
    return take(safe - heldForStop(safe));
  }

  /** At the end of generation: everything not yet sent (unless a stop string cut it). */
  String finish() {
    return take(text.length());
  }

  /** Whether a stop string ended the text. */
  boolean stopped() {
    return stopped;
  }

  /** The whole text so far (after a stop: up to the stop string). */
  String text() {
    return text;
  }

  /** Length of the longest suffix of text[0, end) that is a proper prefix of a stop string. */
  private int heldForStop(int end) {
    int held = 0;
    for (String s : stops) {
      for (int k = Math.min(s.length() - 1, end - emitted); k > held; k--) {
        if (text.startsWith(s.substring(0, k), end - k)) {
          held = k;
          break;
        }
      }
    }
    return held;
  }

  private String take(int upTo) {
    if (upTo <= emitted) {
      return "";
    }
    String out = text.substring(emitted, upTo);
    emitted = upTo;
    return out;
  }
}
