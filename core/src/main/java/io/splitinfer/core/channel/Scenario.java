package io.splitinfer.core.channel;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A time-varying channel: a piecewise schedule of segments, each overriding the base parameters
 * (and optionally drawing loss, σ, SNR or σ_h uniformly from a range when it is entered),
 * Gilbert-Elliott bursts (a two-state Markov chain per tick whose bad state applies its own
 * overrides) and random walks on σ, SNR and σ_h. Time is counted in ticks: hidden-state messages
 * ({@code "clock": "messages"}, reproducible: the same seed and the same traffic give the same
 * channel) or milliseconds ({@code "clock": "millis"}).
 *
 * <p>Built-ins, after the paper's cases: {@code case-L} (loss probability drawn from U(0, 0.1) per
 * segment), {@code case-H} (U(0.1, 0.3)), {@code case-A} (U(0, 0.3)), each with Rayleigh fading and
 * segments of {@value #CASE_SEGMENT_TICKS} ticks (one paper episode of 5 steps); {@code static}
 * keeps the base parameters. JSON format (every key optional):
 *
 * <pre>{@code
 * {"name": "commute", "clock": "messages", "repeat": true,
 *  "base": {"fading": "RAYLEIGH", "useSnr": true, "snrDb": 20},
 *  "segments": [{"duration": 200, "set": {"loss": 0.05}},
 *               {"duration": 100, "lossRange": [0.1, 0.3], "snrDbRange": [5, 15]}],
 *  "gilbertElliott": {"pGoodToBad": 0.02, "pBadToGood": 0.25, "bad": {"loss": 0.6}},
 *  "randomWalk": {"sigmaHStep": 0.005, "sigmaHMin": 0.3, "sigmaHMax": 1.2}}
 * }</pre>
 *
 * <p>Override maps use the {@link ChannelParams} component names ({@code sigma}, {@code snrDb},
 * {@code useSnr}, {@code fading}, {@code sigmaH}, {@code hThreshold}, {@code lossPolicy}, {@code
 * uplink: {delayMs, jitterMs, rateBps, queueBytes}}, ...) plus {@code loss}: a target loss
 * probability turned into h_th by eq. 4 at the resulting σ_h. Setting {@code sigma} switches to
 * absolute noise, setting {@code snrDb} to SNR mode.
 */
public final class Scenario {
  /** Ticks per segment of the built-in cases. */
  public static final int CASE_SEGMENT_TICKS = 5;

  private static final JsonMapper MAPPER =
      JsonMapper.builder()
          .enable(MapperFeature.ACCEPT_CASE_INSENSITIVE_ENUMS)
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
          .build();

  private final Spec spec;

  private Scenario(Spec spec) {
    this.spec = spec;
  }

  /** Time unit of a scenario. */
  public enum Clock {
    MESSAGES,
    MILLIS
  }

  /** A uniform range [min, max], given in JSON as a two-element array. */
  public record Range(double min, double max) {
    public Range {
      if (!Double.isFinite(min) || !Double.isFinite(max) || min > max) {
        throw new IllegalArgumentException("bad range [" + min + ", " + max + "]");
      }
    }

    static Range of(double[] a) {
      if (a == null) {
        return null;
      }
      if (a.length != 2) {
        throw new IllegalArgumentException("a range needs two numbers, got " + a.length);
      }
      return new Range(a[0], a[1]);
    }

    double draw(SplittableRandom rng) {
      return min == max ? min : min + (max - min) * rng.nextDouble();
    }
  }

  /** One piece of the schedule. */
  public record Segment(
      long duration,
      Map<String, Object> set,
      double[] lossRange,
      double[] sigmaRange,
      double[] snrDbRange,
      double[] sigmaHRange) {
    public Segment {
      if (duration < 1) {
        throw new IllegalArgumentException("segment duration must be >= 1, got " + duration);
      }
      set = set == null ? Map.of() : Map.copyOf(set);
      Range.of(lossRange);
      Range.of(sigmaRange);
      Range.of(snrDbRange);
      Range.of(sigmaHRange);
    }
  }

  /** Two-state burst model: per tick good→bad with pGoodToBad, bad→good with pBadToGood. */
  public record GilbertElliott(double pGoodToBad, double pBadToGood, Map<String, Object> bad) {
    public GilbertElliott {
      if (!(pGoodToBad >= 0 && pGoodToBad <= 1 && pBadToGood >= 0 && pBadToGood <= 1)) {
        throw new IllegalArgumentException("Gilbert-Elliott probabilities must be in [0, 1]");
      }
      bad = bad == null ? Map.of() : Map.copyOf(bad);
    }
  }

  /** Gaussian random walks (step = standard deviation per tick), clamped to [min, max]. */
  public record RandomWalk(
      double sigmaStep,
      double sigmaMin,
      double sigmaMax,
      double snrDbStep,
      double snrDbMin,
      double snrDbMax,
      double sigmaHStep,
      double sigmaHMin,
      double sigmaHMax) {}

  /** The parsed JSON. */
  public record Spec(
      String name,
      Clock clock,
      @JsonProperty("repeat") Boolean repeat,
      Map<String, Object> base,
      List<Segment> segments,
      GilbertElliott gilbertElliott,
      RandomWalk randomWalk) {
    public Spec {
      name = name == null || name.isBlank() ? "custom" : name;
      clock = clock == null ? Clock.MESSAGES : clock;
      repeat = repeat == null ? Boolean.TRUE : repeat;
      base = base == null ? Map.of() : Map.copyOf(base);
      segments = segments == null ? List.of() : List.copyOf(segments);
    }
  }

  /** Parses a JSON scenario; IllegalArgumentException with a readable message when invalid. */
  public static Scenario fromJson(String json) {
    try {
      Scenario s = new Scenario(MAPPER.readValue(json, Spec.class));
      s.start(ChannelParams.IDEAL, 0).advance(); // validates the overrides
      return s;
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("bad scenario JSON: " + e.getOriginalMessage(), e);
    }
  }

  /** A built-in scenario: static, case-L, case-H, case-A (case-insensitive). */
  public static Scenario builtin(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    double[] range =
        switch (n) {
          case "static" -> null;
          case "case-l" -> new double[] {0, 0.1};
          case "case-h" -> new double[] {0.1, 0.3};
          case "case-a" -> new double[] {0, 0.3};
          default ->
              throw new IllegalArgumentException(
                  "unknown built-in scenario '" + name + "' (static, case-L, case-H, case-A)");
        };
    if (range == null) {
      return new Scenario(new Spec("static", Clock.MESSAGES, true, null, null, null, null));
    }
    String canonical = "case-" + n.substring(5).toUpperCase(Locale.ROOT);
    return new Scenario(
        new Spec(
            canonical,
            Clock.MESSAGES,
            true,
            Map.of("fading", "RAYLEIGH"),
            List.of(new Segment(CASE_SEGMENT_TICKS, null, range, null, null, null)),
            null,
            null));
  }

  /** A built-in name or, failing that, JSON text. */
  public static Scenario parse(String builtinOrJson) {
    String t = builtinOrJson.strip();
    return t.startsWith("{") ? fromJson(t) : builtin(t);
  }

  public String name() {
    return spec.name();
  }

  public Spec spec() {
    return spec;
  }

  public Clock clock() {
    return spec.clock();
  }

  /** A run of this scenario over {@code base} parameters with its own random state. */
  public Cursor start(ChannelParams base, long seed) {
    return new Cursor(base, seed);
  }

  /** Applies an override map (see the class comment) to {@code p}. */
  public static ChannelParams apply(ChannelParams p, Map<String, Object> overrides) {
    if (overrides.isEmpty()) {
      return p;
    }
    Map<String, Object> m =
        MAPPER.convertValue(p, new TypeReference<LinkedHashMap<String, Object>>() {});
    Object loss = null;
    for (Map.Entry<String, Object> e : overrides.entrySet()) {
      String k = e.getKey();
      Object v = e.getValue();
      if (k.equals("loss")) {
        loss = v;
        continue;
      }
      if (!m.containsKey(k)) {
        throw new IllegalArgumentException("unknown channel parameter '" + k + "'");
      }
      if (k.equals("sigma")) {
        m.put("useSnr", false);
      } else if (k.equals("snrDb")) {
        m.put("useSnr", true);
      }
      if (v instanceof Map<?, ?> nested && m.get(k) instanceof Map<?, ?> current) {
        Map<Object, Object> merged = new LinkedHashMap<>(current);
        merged.putAll(nested);
        m.put(k, merged);
      } else {
        m.put(k, v);
      }
    }
    ChannelParams out;
    try {
      out = MAPPER.convertValue(m, ChannelParams.class);
    } catch (IllegalArgumentException e) {
      Throwable c = e.getCause() != null ? e.getCause() : e;
      throw new IllegalArgumentException("bad channel parameters: " + c.getMessage(), e);
    }
    if (loss != null) {
      if (!(loss instanceof Number n)) {
        throw new IllegalArgumentException("loss must be a number, got " + loss);
      }
      out = out.toBuilder().lossProbability(n.doubleValue()).build();
    }
    return out;
  }

  /** One run of the scenario: call {@link #advance()} once per tick. Not thread-safe. */
  public final class Cursor {
    private final ChannelParams base;
    private final SplittableRandom rng;
    private long tick = -1;
    private int segment = -1;
    private long segmentEnd;
    private ChannelParams segmentParams;
    private boolean bad;
    private double sigmaOffset;
    private double snrOffset;
    private double sigmaHOffset;
    private ChannelParams current;

    private Cursor(ChannelParams base, long seed) {
      this.base = apply(base, spec.base()).toBuilder().scenario(spec.name()).build();
      this.rng = new SplittableRandom(seed);
      this.current = this.base;
    }

    /** Parameters in force now (the base before the first tick). */
    public ChannelParams current() {
      return current;
    }

    /** The tick last entered (-1 before the first). */
    public long tick() {
      return tick;
    }

    public int segment() {
      return segment;
    }

    /** Whether the Gilbert-Elliott chain is in its bad state. */
    public boolean bad() {
      return bad;
    }

    public Scenario scenario() {
      return Scenario.this;
    }

    /** Moves ahead until tick {@code t} (no-op if already there or past it). */
    public ChannelParams advanceTo(long t) {
      while (tick < t) {
        advance();
      }
      return current;
    }

    /** Moves one tick ahead and returns the parameters for it. */
    public ChannelParams advance() {
      tick++;
      List<Segment> segs = spec.segments();
      if (segs.isEmpty()) {
        segmentParams = base;
      } else if (segment < 0 || tick >= segmentEnd) {
        int next = segment + 1;
        if (next >= segs.size()) {
          next = spec.repeat() ? 0 : segs.size() - 1;
        }
        boolean enter = segment < 0 || next != segment || spec.repeat();
        segment = next;
        segmentEnd = tick + segs.get(segment).duration();
        if (enter) {
          segmentParams = enter(segs.get(segment));
        }
      }
      ChannelParams p = segmentParams;
      RandomWalk w = spec.randomWalk();
      if (w != null) {
        ChannelParams.Builder b = p.toBuilder();
        if (w.sigmaStep() > 0) {
          sigmaOffset += w.sigmaStep() * rng.nextGaussian();
          double v = clamp(p.sigma() + sigmaOffset, w.sigmaMin(), w.sigmaMax());
          sigmaOffset = v - p.sigma();
          b.sigma(v).useSnr(p.useSnr());
        }
        if (w.snrDbStep() > 0) {
          snrOffset += w.snrDbStep() * rng.nextGaussian();
          double v = clamp(p.snrDb() + snrOffset, w.snrDbMin(), w.snrDbMax());
          snrOffset = v - p.snrDb();
          b.snrDb(v).useSnr(p.useSnr());
        }
        if (w.sigmaHStep() > 0) {
          sigmaHOffset += w.sigmaHStep() * rng.nextGaussian();
          double v = clamp(p.sigmaH() + sigmaHOffset, w.sigmaHMin(), w.sigmaHMax());
          sigmaHOffset = v - p.sigmaH();
          b.sigmaH(v);
        }
        p = b.build();
      }
      GilbertElliott ge = spec.gilbertElliott();
      if (ge != null) {
        double u = rng.nextDouble();
        if (tick > 0) {
          bad = bad ? !(u < ge.pBadToGood()) : u < ge.pGoodToBad();
        }
        if (bad) {
          p = apply(p, ge.bad());
        }
      }
      current = p;
      return p;
    }

    private ChannelParams enter(Segment s) {
      Map<String, Object> o = new LinkedHashMap<>(s.set());
      Range sigma = Range.of(s.sigmaRange());
      if (sigma != null) {
        o.put("sigma", sigma.draw(rng));
      }
      Range snr = Range.of(s.snrDbRange());
      if (snr != null) {
        o.put("snrDb", snr.draw(rng));
      }
      Range sigmaH = Range.of(s.sigmaHRange());
      if (sigmaH != null) {
        o.put("sigmaH", sigmaH.draw(rng));
      }
      Range loss = Range.of(s.lossRange());
      if (loss != null) {
        o.put("loss", loss.draw(rng));
      }
      return apply(base, o);
    }

    private double clamp(double v, double lo, double hi) {
      return Math.max(lo, Math.min(hi, v));
    }
  }
}
