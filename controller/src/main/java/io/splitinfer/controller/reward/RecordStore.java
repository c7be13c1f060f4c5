package io.splitinfer.controller.reward;

import io.splitinfer.core.objective.WeightFormatCost;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The measurement records (σ, σ_h, p, PPL, cost, model, time, the UE's weight format) in a JDBC
 * database — an embedded H2 file by default — exportable to CSV. Open with {@link #open}; the table
 * is created if missing. Thread-safe (one connection, synchronized).
 *
 * <p><b>Schema migration.</b> {@code weight_format} was added after records existed: {@link #open}
 * adds the column to an older table ({@code ADD COLUMN IF NOT EXISTS ... DEFAULT 'f32'}, H2 and
 * PostgreSQL), so every old record reads back as an f32 measurement and old databases keep working.
 */
public final class RecordStore implements AutoCloseable {
  private final Connection conn;
  private final String url;

  private RecordStore(Connection conn, String url) {
    this.conn = conn;
    this.url = url;
  }

  /**
   * Opens {@code location}: a JDBC URL ({@code jdbc:...}) as is, otherwise a file path for an
   * embedded H2 database ({@code records} → {@code records.mv.db}).
   */
  public static RecordStore open(String location) throws SQLException {
    String url = toUrl(location);
    Connection c = DriverManager.getConnection(url, "sa", "");
    try (Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE IF NOT EXISTS measurement ("
              + " id BIGINT AUTO_INCREMENT PRIMARY KEY,"
              + " sigma DOUBLE PRECISION NOT NULL,"
              + " sigma_h DOUBLE PRECISION NOT NULL,"
              + " split INT NOT NULL,"
              + " ppl DOUBLE PRECISION NOT NULL,"
              + " cost DOUBLE PRECISION NOT NULL,"
              + " model_id VARCHAR(200) NOT NULL,"
              + " source VARCHAR(50) NOT NULL,"
              + " measured_at TIMESTAMP NOT NULL)");
      s.execute(
          "ALTER TABLE measurement ADD COLUMN IF NOT EXISTS weight_format VARCHAR(64) NOT NULL"
              + " DEFAULT '"
              + WeightFormatCost.DEFAULT
              + "'");
      s.execute(
          "CREATE INDEX IF NOT EXISTS measurement_key ON measurement(model_id, split, sigma,"
              + " sigma_h)");
    }
    return new RecordStore(c, url);
  }

  /** An in-memory database private to this store (tests). */
  public static RecordStore inMemory() throws SQLException {
    return open("jdbc:h2:mem:records-" + System.nanoTime() + ";DB_CLOSE_DELAY=0");
  }

  static String toUrl(String location) {
    if (location.startsWith("jdbc:")) {
      return location;
    }
    String path = Path.of(location).toAbsolutePath().toString();
    if (path.endsWith(".mv.db")) {
      path = path.substring(0, path.length() - ".mv.db".length());
    }
    return "jdbc:h2:file:" + path;
  }

  public String url() {
    return url;
  }

  public synchronized void insert(MeasurementRecord r) {
    try (PreparedStatement ps =
        conn.prepareStatement(
            "INSERT INTO measurement(sigma, sigma_h, split, ppl, cost, model_id, source,"
                + " measured_at, weight_format) VALUES (?,?,?,?,?,?,?,?,?)")) {
      ps.setDouble(1, r.sigma());
      ps.setDouble(2, r.sigmaH());
      ps.setInt(3, r.split());
      ps.setDouble(4, r.ppl());
      ps.setDouble(5, r.cost());
      ps.setString(6, r.modelId());
      ps.setString(7, r.source());
      ps.setTimestamp(8, Timestamp.from(r.at()));
      ps.setString(9, r.weightFormat());
      ps.executeUpdate();
    } catch (SQLException e) {
      throw new IllegalStateException("cannot store record", e);
    }
  }

  /** Every record of {@code modelId} (all models when null), in insertion order. */
  public synchronized List<MeasurementRecord> all(String modelId) {
    return all(modelId, null);
  }

  /**
   * Every record of {@code modelId} measured with UE weight format {@code weightFormat} (any model
   * / any format where null), in insertion order.
   */
  public synchronized List<MeasurementRecord> all(String modelId, String weightFormat) {
    String sql =
        "SELECT "
            + COLUMNS
            + " FROM measurement WHERE 1 = 1"
            + (modelId == null ? "" : " AND model_id = ?")
            + (weightFormat == null ? "" : " AND weight_format = ?")
            + " ORDER BY id";
    try (PreparedStatement ps = conn.prepareStatement(sql)) {
      int i = 1;
      if (modelId != null) {
        ps.setString(i++, modelId);
      }
      if (weightFormat != null) {
        ps.setString(i, WeightFormatCost.canonical(weightFormat));
      }
      List<MeasurementRecord> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(read(rs));
        }
      }
      return out;
    } catch (SQLException e) {
      throw new IllegalStateException("cannot read records", e);
    }
  }

  /**
   * A record of the same model and split, measured on an f32 UE, whose σ and σ_h are within {@code
   * tol} (absolute).
   */
  public synchronized Optional<MeasurementRecord> find(
      String modelId, double sigma, double sigmaH, int split, double tol) {
    return find(modelId, WeightFormatCost.DEFAULT, sigma, sigmaH, split, tol);
  }

  /** As {@link #find(String, double, double, int, double)} for a UE of {@code weightFormat}. */
  public synchronized Optional<MeasurementRecord> find(
      String modelId, String weightFormat, double sigma, double sigmaH, int split, double tol) {
    try (PreparedStatement ps =
        conn.prepareStatement(
            "SELECT "
                + COLUMNS
                + " FROM measurement WHERE model_id = ? AND split = ? AND sigma BETWEEN ? AND ?"
                + " AND sigma_h BETWEEN ? AND ? AND weight_format = ? ORDER BY id LIMIT 1")) {
      ps.setString(1, modelId);
      ps.setInt(2, split);
      ps.setDouble(3, sigma - tol);
      ps.setDouble(4, sigma + tol);
      ps.setDouble(5, sigmaH - tol);
      ps.setDouble(6, sigmaH + tol);
      ps.setString(7, WeightFormatCost.canonical(weightFormat));
      try (ResultSet rs = ps.executeQuery()) {
        return rs.next() ? Optional.of(read(rs)) : Optional.empty();
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot query records", e);
    }
  }

  public synchronized long count() {
    try (Statement s = conn.createStatement();
        ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM measurement")) {
      rs.next();
      return rs.getLong(1);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Writes every record as CSV with a header row. */
  public void exportCsv(Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
      w.write("sigma,sigma_h,split,ppl,cost,model_id,source,measured_at,weight_format\n");
      for (MeasurementRecord r : all(null)) {
        w.write(
            String.format(
                Locale.ROOT,
                "%s,%s,%d,%s,%s,%s,%s,%s,%s%n",
                r.sigma(),
                r.sigmaH(),
                r.split(),
                r.ppl(),
                r.cost(),
                r.modelId(),
                r.source(),
                r.at(),
                r.weightFormat()));
      }
    }
  }

  private static MeasurementRecord read(ResultSet rs) throws SQLException {
    return new MeasurementRecord(
        rs.getDouble(1),
        rs.getDouble(2),
        rs.getInt(3),
        rs.getDouble(4),
        rs.getDouble(5),
        rs.getString(6),
        rs.getString(7),
        rs.getTimestamp(8).toInstant(),
        rs.getString(9));
  }

  private static final String COLUMNS =
      "sigma, sigma_h, split, ppl, cost, model_id, source, measured_at, weight_format";

  @Override
  public synchronized void close() {
    try {
      conn.close();
    } catch (SQLException e) {
      // closing: nothing to recover
    }
  }
}
