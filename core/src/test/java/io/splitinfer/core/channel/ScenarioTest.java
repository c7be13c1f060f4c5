package io.splitinfer.core.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.core.channel.ChannelParams.Fading;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ScenarioTest {
  @Test
  void paperCasesDrawLossPerSegmentWithinTheirRanges() {
    double[][] ranges = {{0, 0.1}, {0.1, 0.3}, {0, 0.3}};
    String[] names = {"case-L", "case-H", "case-A"};
    for (int c = 0; c < 3; c++) {
      Scenario.Cursor cur = Scenario.builtin(names[c]).start(ChannelParams.IDEAL, 5);
      Set<Double> distinct = new HashSet<>();
      double min = 1;
      double max = 0;
      for (int t = 0; t < 5000; t++) {
        ChannelParams p = cur.advance();
        assertEquals(Fading.RAYLEIGH, p.fading());
        assertEquals(names[c], p.scenario());
        double loss = p.expectedLoss();
        assertTrue(loss >= ranges[c][0] - 1e-12 && loss <= ranges[c][1] + 1e-12, "" + loss);
        distinct.add(loss);
        min = Math.min(min, loss);
        max = Math.max(max, loss);
        if (t % Scenario.CASE_SEGMENT_TICKS != 0) {
          // constant within a segment
          assertTrue(distinct.contains(loss));
        }
      }
      assertEquals(5000 / Scenario.CASE_SEGMENT_TICKS, distinct.size());
      double width = ranges[c][1] - ranges[c][0];
      assertTrue(min < ranges[c][0] + 0.01 * width && max > ranges[c][1] - 0.01 * width);
    }
  }

  @Test
  void sameSeedSameScheduleDifferentSeedDifferent() {
    String json =
        """
        {"name": "t", "base": {"fading": "rayleigh", "snrDb": 20},
         "segments": [{"duration": 7, "lossRange": [0, 0.3], "snrDbRange": [5, 25]},
                      {"duration": 3, "set": {"sigma": 0.2, "uplink": {"delayMs": 5}}}],
         "gilbertElliott": {"pGoodToBad": 0.1, "pBadToGood": 0.3, "bad": {"loss": 0.8}},
         "randomWalk": {"sigmaHStep": 0.01, "sigmaHMin": 0.3, "sigmaHMax": 1.5}}
        """;
    Scenario s = Scenario.fromJson(json);
    assertEquals("t", s.name());
    List<ChannelParams> a = trace(s.start(ChannelParams.IDEAL, 9), 500);
    List<ChannelParams> b = trace(s.start(ChannelParams.IDEAL, 9), 500);
    assertEquals(a, b);
    assertNotEquals(a, trace(s.start(ChannelParams.IDEAL, 10), 500));
    // second segment sets absolute sigma and a delay, keeps the base's fading
    ChannelParams seg2 = a.get(8);
    assertEquals(0.2, seg2.sigma());
    assertEquals(5, seg2.uplink().delayMs());
    assertEquals(Fading.RAYLEIGH, seg2.fading());
    assertTrue(a.get(0).useSnr());
  }

  @Test
  void gilbertElliottSpendsStationaryFractionInBadState() {
    String json =
        """
        {"gilbertElliott": {"pGoodToBad": 0.05, "pBadToGood": 0.2, "bad": {"fading": "RAYLEIGH", "loss": 0.9}}}
        """;
    Scenario.Cursor cur = Scenario.fromJson(json).start(ChannelParams.IDEAL, 1);
    int bad = 0;
    int n = 100_000;
    for (int t = 0; t < n; t++) {
      ChannelParams p = cur.advance();
      if (cur.bad()) {
        bad++;
        assertEquals(0.9, p.expectedLoss(), 1e-9);
      } else {
        assertEquals(0, p.expectedLoss());
      }
    }
    // stationary P(bad) = 0.05 / 0.25 = 0.2; bursts are correlated, so allow ±0.02
    assertEquals(0.2, bad / (double) n, 0.02);
  }

  @Test
  void randomWalkStaysWithinBounds() {
    String json =
        """
        {"base": {"sigma": 0.1}, "randomWalk": {"sigmaStep": 0.05, "sigmaMin": 0.0, "sigmaMax": 0.3}}
        """;
    Scenario.Cursor cur = Scenario.fromJson(json).start(ChannelParams.IDEAL, 2);
    Set<Double> seen = new HashSet<>();
    for (int t = 0; t < 2000; t++) {
      double s = cur.advance().sigma();
      assertTrue(s >= 0 && s <= 0.3);
      seen.add(s);
    }
    assertTrue(seen.size() > 100);
  }

  @Test
  void badScenariosAreRejectedWithReadableMessages() {
    assertThrows(IllegalArgumentException.class, () -> Scenario.builtin("case-Z"));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> Scenario.fromJson("{\"base\": {\"sigmaa\": 1}}"));
    assertTrue(e.getMessage().contains("sigmaa"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Scenario.fromJson("{\"segments\": 3"));
    assertThrows(
        IllegalArgumentException.class,
        () -> Scenario.fromJson("{\"segments\": [{\"duration\": 0}]}"));
    assertThrows(
        IllegalArgumentException.class, () -> Scenario.fromJson("{\"base\": {\"sigma\": -1}}"));
    assertEquals("case-H", Scenario.parse(" case-h ").name());
    assertEquals(
        ChannelParams.IDEAL, Scenario.builtin("static").start(ChannelParams.IDEAL, 0).advance());
  }

  private static List<ChannelParams> trace(Scenario.Cursor c, int n) {
    List<ChannelParams> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(c.advance());
    }
    return out;
  }
}
