package io.splitinfer.controller.reward;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RecordStoreTest {
  @Test
  void storesFindsAndExportsRecords(@TempDir Path dir) throws Exception {
    Path db = dir.resolve("records");
    Instant t = Instant.parse("2025-01-02T03:04:05Z");
    try (RecordStore s = RecordStore.open(db.toString())) {
      s.insert(new MeasurementRecord(0.5, 2.0, 3, 17.5, 1e9, "m", "measured", t));
      s.insert(new MeasurementRecord(0.1, 3.0, 4, 12.0, 2e9, "other", "measured", t));
      assertEquals(2, s.count());
      assertEquals(1, s.all("m").size());
      assertEquals(17.5, s.find("m", 0.5 + 1e-12, 2.0, 3, 1e-9).orElseThrow().ppl());
      assertTrue(s.find("m", 0.6, 2.0, 3, 1e-9).isEmpty());
      assertTrue(s.find("m", 0.5, 2.0, 4, 1e-9).isEmpty());
      s.exportCsv(dir.resolve("out.csv"));
    }
    // persisted in the file
    try (RecordStore s = RecordStore.open(db.toString())) {
      assertEquals(2, s.count());
      assertEquals(t, s.all("m").get(0).at());
    }
    List<String> lines = Files.readAllLines(dir.resolve("out.csv"));
    assertEquals(3, lines.size());
    assertTrue(lines.get(0).startsWith("sigma,sigma_h,split,ppl"));
    assertTrue(lines.get(1).startsWith("0.5,2.0,3,17.5,"));
  }

  @Test
  void measuredRewardMeasuresOncePerGridPointAndRecords() throws Exception {
    try (RecordStore s = RecordStore.inMemory()) {
      RewardTestSupport.FakePipeline pipe = new RewardTestSupport.FakePipeline();
      MeasuredReward m = new MeasuredReward(pipe, s, 0.05, 0.01, 1.0, java.time.Clock.systemUTC());
      double a = m.ppl(0.301, 2.0, 4);
      double b = m.ppl(0.299, 2.0, 4); // same grid point
      assertEquals(a, b);
      assertEquals(1, pipe.calls);
      m.ppl(0.301, 2.0, 5);
      assertEquals(2, pipe.calls);
      assertEquals(2, s.count());
      assertEquals(1, m.cacheHits());
      MeasurementRecord r = s.all("fake").get(0);
      assertEquals(0.3, r.sigma(), 1e-12);
      assertEquals(4, r.split());
      assertTrue(r.cost() > 0);
    }
  }
}
