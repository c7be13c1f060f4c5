package io.splitinfer.core.objective;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What a UE's weight format does to its cost (eq. 2): the measured decode time of a weight format
 * relative to float32 on the same model, and the one text form of a format that the controller
 * compares (a policy trained for one format is not used for a UE of another).
 *
 * <p><b>Names.</b> The model manifest's forms: {@code f32}, {@code f16}, {@code int8-g32-sym-a4},
 * {@code int4-g64-asym-a0}, ... {@link #canonical} fills the short forms {@code int8} / {@code
 * int4} with the model converter's defaults (group 32, symmetric, accuracy level 4; the same as
 * model's {@code WeightFormat.parse}, which a model test checks) and maps an empty name (a UE or a
 * record from before formats existed) to {@code f32}.
 *
 * <p><b>Ratios.</b> Decode ms per token of each storage kind over f32's, medians of 3 runs of
 * {@code model bench} (model README, "Weight formats and memory: measured"; int8/int4 at group 32,
 * symmetric, accuracy level 4):
 *
 * <pre>
 *   shape                        command                                                      f16    int8   int4
 *   default model (d 256)        bench PKG --context 128 --runs 3 --steps 30 --threads 1       0.779  0.694  0.553
 *   TinyLlama-1.1B (d 2048)      bench PKG --split 11 --context 64 --runs 3 --steps 8 --threads 2  0.744  0.314  0.130
 * </pre>
 *
 * (64.92 / 50.57 / 45.03 / 35.88 ms and 2668.73 / 1985.70 / 837.25 / 347.66 ms for f32 / f16 / int8
 * / int4.) A model uses the row whose hidden size is nearest on a log scale: quantization pays more
 * where weight reads dominate. Other group sizes and accuracy levels of a kind take its ratio (only
 * g32-sym-a4 was measured).
 */
public final class WeightFormatCost {
  /** The format of a UE or a record that states none. */
  public static final String DEFAULT = "f32";

  private static final Pattern NAME =
      Pattern.compile("(f32|f16)|(int[48])(?:-g(\\d{1,5}))?(?:-(sym|asym))?(?:-a([0-4]))?");

  /** Hidden sizes of the measured shapes, and the ratios f16, int8, int4 at each. */
  private static final int[] SHAPES = {256, 2048};

  private static final double[][] RATIOS = {
    {50.57 / 64.92, 45.03 / 64.92, 35.88 / 64.92},
    {1985.70 / 2668.73, 837.25 / 2668.73, 347.66 / 2668.73}
  };

  private WeightFormatCost() {}

  /**
   * The canonical name of {@code format}: null or blank = {@value #DEFAULT}, short quantized forms
   * completed with the converter's defaults.
   *
   * @throws IllegalArgumentException a name that is no weight format
   */
  public static String canonical(String format) {
    if (format == null || format.isBlank()) {
      return DEFAULT;
    }
    String f = format.strip().toLowerCase(Locale.ROOT);
    Matcher m = NAME.matcher(f);
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "unknown weight format '"
              + format
              + "'; expected f32, f16, int8 or int4 (optionally -gGROUP, -sym|-asym, -aLEVEL,"
              + " e.g. int4-g32-sym-a4)");
    }
    if (m.group(1) != null) {
      return m.group(1);
    }
    int group = m.group(3) == null ? 32 : Integer.parseInt(m.group(3));
    if (group < 16 || Integer.bitCount(group) != 1) {
      throw new IllegalArgumentException(
          "weight format '" + format + "': group size must be a power of two >= 16");
    }
    String sym = m.group(4) == null ? "sym" : m.group(4);
    String level = m.group(5) == null ? "4" : m.group(5);
    return m.group(2) + "-g" + group + "-" + sym + "-a" + level;
  }

  /** The storage kind of a format: {@code f32}, {@code f16}, {@code int8} or {@code int4}. */
  public static String kind(String format) {
    String c = canonical(format);
    int dash = c.indexOf('-');
    return dash < 0 ? c : c.substring(0, dash);
  }

  /**
   * Decode cost of {@code format} relative to f32 on a model of hidden size {@code hiddenSize} (1
   * for f32): the measured ratio of the nearest measured shape (see the class comment).
   */
  public static double ratio(String format, int hiddenSize) {
    String k = kind(format);
    if (k.equals("f32")) {
      return 1.0;
    }
    int col =
        switch (k) {
          case "f16" -> 0;
          case "int8" -> 1;
          default -> 2;
        };
    int best = 0;
    double dist = Double.POSITIVE_INFINITY;
    for (int i = 0; i < SHAPES.length; i++) {
      double d = Math.abs(Math.log((double) Math.max(1, hiddenSize) / SHAPES[i]));
      if (d < dist) {
        dist = d;
        best = i;
      }
    }
    return RATIOS[best][col];
  }
}
