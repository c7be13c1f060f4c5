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

  @Test
  void anOldDatabaseIsMigratedAndItsRecordsReadAsF32(@TempDir Path dir) throws Exception {
    Path db = dir.resolve("old");
    // the table as RecordStore created it before weight formats were recorded
    try (java.sql.Connection c =
            java.sql.DriverManager.getConnection(RecordStore.toUrl(db.toString()), "sa", "");
        java.sql.Statement st = c.createStatement()) {
      st.execute(
          "CREATE TABLE measurement (id BIGINT AUTO_INCREMENT PRIMARY KEY, sigma DOUBLE PRECISION"
              + " NOT NULL, sigma_h DOUBLE PRECISION NOT NULL, split INT NOT NULL, ppl DOUBLE"
              + " PRECISION NOT NULL, cost DOUBLE PRECISION NOT NULL, model_id VARCHAR(200) NOT"
              + " NULL, source VARCHAR(50) NOT NULL, measured_at TIMESTAMP NOT NULL)");
      st.execute(
          "INSERT INTO measurement(sigma, sigma_h, split, ppl, cost, model_id, source,"
              + " measured_at) VALUES (1.0, 2.0, 3, 55.5, 1e9, 'm', 'measured',"
              + " TIMESTAMP '2025-01-02 03:04:05')");
    }
    Instant t = Instant.parse("2025-02-03T04:05:06Z");
    try (RecordStore s = RecordStore.open(db.toString())) {
      MeasurementRecord old = s.all("m").get(0);
      assertEquals("f32", old.weightFormat());
      assertEquals(55.5, old.ppl());
      s.insert(new MeasurementRecord(1.0, 2.0, 3, 57.0, 1e9, "m", "measured", t, "int4"));
      assertEquals(2, s.all("m").size());
      assertEquals(1, s.all("m", "f32").size());
      List<MeasurementRecord> int4 = s.all("m", "int4-g32-sym-a4");
      assertEquals(1, int4.size());
      assertEquals("int4-g32-sym-a4", int4.get(0).weightFormat());
      // a lookup finds the record of the asked format only
      assertEquals(55.5, s.find("m", 1.0, 2.0, 3, 1e-9).orElseThrow().ppl());
      assertEquals(57.0, s.find("m", "int4", 1.0, 2.0, 3, 1e-9).orElseThrow().ppl());
      assertTrue(s.find("m", "int8", 1.0, 2.0, 3, 1e-9).isEmpty());
      s.exportCsv(dir.resolve("out.csv"));
    }
    // opening again is idempotent
    try (RecordStore s = RecordStore.open(db.toString())) {
      assertEquals(2, s.count());
    }
    List<String> lines = Files.readAllLines(dir.resolve("out.csv"));
    assertTrue(lines.get(0).endsWith(",weight_format"), lines.get(0));
    assertTrue(lines.get(1).endsWith(",f32"), lines.get(1));
    assertTrue(lines.get(2).endsWith(",int4-g32-sym-a4"), lines.get(2));
  }

  @Test
  void measuredRecordsCarryThePipelinesFormatAndItsCost() throws Exception {
    try (RecordStore s = RecordStore.inMemory()) {
      RewardTestSupport.FakePipeline f32 = new RewardTestSupport.FakePipeline();
      RewardTestSupport.FakePipeline int4 = new RewardTestSupport.FakePipeline();
      int4.weightFormat = "int4";
      java.time.Clock clock = java.time.Clock.systemUTC();
      new MeasuredReward(f32, s, 0.05, 0.01, 1.0, clock).ppl(0.3, 2.0, 4);
      MeasuredReward m4 = new MeasuredReward(int4, s, 0.05, 0.01, 1.0, clock);
      m4.ppl(0.3, 2.0, 4);
      assertEquals(1, int4.calls, "an f32 record is no cache hit for an int4 UE");
      m4.ppl(0.3, 2.0, 4);
      assertEquals(1, int4.calls);
      assertEquals(1, s.all("fake", "f32").size());
      MeasurementRecord r = s.all("fake", "int4").get(0);
      assertEquals("int4-g32-sym-a4", r.weightFormat());
      // the cost column stays eq. 2's FLOPs; the format is beside it
      assertEquals(s.all("fake", "f32").get(0).cost(), r.cost());
    }
  }
}
