package io.splitinfer.controller.live;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.splitinfer.core.channel.Scenario;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class LiveScenariosTest {
  @Test
  void scenariosParseAndStayInTheTrainingRange() {
    for (String name : LiveScenarios.NAMES) {
      String json = LiveScenarios.json(name, 30);
      assertEquals(Scenario.Clock.MESSAGES, Scenario.fromJson(json).clock());
      LiveScenarios.Truth[] t = LiveScenarios.replay(json, 1, 2000);
      double minS = Arrays.stream(t).mapToDouble(LiveScenarios.Truth::sigma).min().orElseThrow();
      double maxS = Arrays.stream(t).mapToDouble(LiveScenarios.Truth::sigma).max().orElseThrow();
      double maxL = Arrays.stream(t).mapToDouble(LiveScenarios.Truth::loss).max().orElseThrow();
      double minL = Arrays.stream(t).mapToDouble(LiveScenarios.Truth::loss).min().orElseThrow();
      assertTrue(minS >= 0 && maxS <= 8, name + " σ in [" + minS + ", " + maxS + "]");
      assertTrue(maxS - minS > 3, name + ": σ should vary, got [" + minS + ", " + maxS + "]");
      assertTrue(
          minL < 0.1 && maxL >= 0.2 && maxL <= 0.3 + 1e-9,
          name + " loss [" + minL + ", " + maxL + "]");
    }
  }

  @Test
  void replayIsDeterministicBySeed() {
    String json = LiveScenarios.json("bursty", 30);
    assertArrayEquals(LiveScenarios.replay(json, 7, 500), LiveScenarios.replay(json, 7, 500));
    assertNotEquals(
        Arrays.asList(LiveScenarios.replay(json, 7, 500)),
        Arrays.asList(LiveScenarios.replay(json, 8, 500)));
  }

  @Test
  void unknownScenarioIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> LiveScenarios.json("commute", 30));
    assertThrows(IllegalArgumentException.class, () -> LiveScenarios.json("drift", 0));
  }
}
