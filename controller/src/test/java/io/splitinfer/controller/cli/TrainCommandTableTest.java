package io.splitinfer.controller.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.splitinfer.controller.ControllerMain;
import io.splitinfer.controller.ppo.PpoCheckpoint;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code train --ppl-table}: PPO on the measured PPL table, recorded as its reward source. */
class TrainCommandTableTest {
  @Test
  void trainsOnTheMeasuredTable(@TempDir Path dir) throws Exception {
    int rc =
        ControllerMain.commandLine()
            .execute(
                "train",
                "--case",
                "S",
                "--surrogate",
                "--ppl-table",
                "default",
                "--steps",
                "800",
                "--out",
                dir.toString());
    assertEquals(0, rc);
    PpoCheckpoint cp = PpoCheckpoint.load(dir.resolve("ppo-S.json"));
    assertEquals("ppl-table", cp.rewardSource());
    assertEquals(800, cp.trainedSteps());
    int bad =
        ControllerMain.commandLine()
            .execute(
                "train",
                "--case",
                "S",
                "--surrogate",
                "--ppl-table",
                dir.resolve("none.csv").toString(),
                "--steps",
                "800",
                "--out",
                dir.toString());
    assertNotEquals(0, bad, "a missing table is an error");
  }

  @Test
  void episodeLengthIsAFlagAndTheCheckpointRecordsIt(@TempDir Path dir) throws Exception {
    int rc =
        ControllerMain.commandLine()
            .execute(
                "train",
                "--case",
                "S",
                "--surrogate",
                "--episode-length",
                "12",
                "--steps",
                "800",
                "--out",
                dir.toString());
    assertEquals(0, rc);
    PpoCheckpoint cp = PpoCheckpoint.load(dir.resolve("ppo-S.json"));
    assertEquals(12, cp.env().episodeLength());
    assertEquals(11, cp.env().pMax(), "the rest of the surrogate's environment is kept");
  }
}
