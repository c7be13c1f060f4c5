package io.splitinfer.controller.store;

import com.google.protobuf.InvalidProtocolBufferException;
import io.splitinfer.proto.v1.EdgeRegistration;
import io.splitinfer.proto.v1.SplitDecision;
import io.splitinfer.proto.v1.UeRegistration;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The controller's durable state in the records database: UE registrations (with their split range
 * and edge), edge registrations, every committed decision (an append-only log; the newest epoch per
 * UE is the decision in force) and the policy chosen by SetPolicy. An embedded H2 file by default,
 * PostgreSQL in production ({@code jdbc:postgresql://host:5432/db?user=..&password=..}).
 *
 * <p>The schema is created idempotently ({@code CREATE TABLE IF NOT EXISTS}, portable SQL; only the
 * binary column type differs: {@code BYTEA} on PostgreSQL, {@code VARBINARY} elsewhere). Rows keep
 * readable key columns for operators' SQL and the full protobuf message for fidelity. Upserts are
 * UPDATE-then-INSERT in one transaction: one controller owns one database. Every write is committed
 * before the call returns (on H2 with {@code WRITE_DELAY 0}, so a killed process loses nothing it
 * acknowledged; PostgreSQL commits durably by default). Thread-safe (one connection, synchronized).
 * Constructors do no I/O; {@link #open} connects.
 */
public final class ControllerStore implements ControllerJournal {
  private final Connection conn;
  private final String url;

  /** What a restarted controller reloads. */
  public record Snapshot(
      List<UeState> ues, List<EdgeRegistration> edges, Optional<PolicyChoice> policy) {
    public static final Snapshot EMPTY = new Snapshot(List.of(), List.of(), Optional.empty());
  }

  /** A registered UE, its range as accepted, and its decision in force (newest epoch). */
  public record UeState(
      UeRegistration registration, int minSplit, int maxSplit, SplitDecision decision) {}

  /** The policy in force, as named to SetPolicy. */
  public record PolicyChoice(String name, String checkpoint) {}

  private ControllerStore(Connection conn, String url) {
    this.conn = conn;
    this.url = url;
  }

  /**
   * Opens (and creates the schema of) {@code location}: a JDBC URL as is, otherwise a file path for
   * an embedded H2 database ({@code controller-records} → {@code controller-records.mv.db}).
   */
  public static ControllerStore open(String location) throws SQLException {
    String url = toUrl(location);
    Connection c =
        url.startsWith("jdbc:h2:")
            ? DriverManager.getConnection(url, "sa", "")
            : DriverManager.getConnection(url);
    try {
      if (url.startsWith("jdbc:h2:")) {
        // H2 flushes commits up to 500 ms late by default: a controller killed (kill -9) right
        // after a decision would come back without it. Flush at every commit instead.
        try (Statement st = c.createStatement()) {
          st.execute("SET WRITE_DELAY 0");
        }
      }
      createSchema(c, url.startsWith("jdbc:postgresql:") ? "BYTEA" : "VARBINARY");
    } catch (SQLException e) {
      c.close();
      throw e;
    }
    return new ControllerStore(c, url);
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

  private static void createSchema(Connection c, String bin) throws SQLException {
    try (Statement s = c.createStatement()) {
      s.execute(
          "CREATE TABLE IF NOT EXISTS controller_ue ("
              + " ue_id VARCHAR(200) PRIMARY KEY,"
              + " edge_id VARCHAR(200) NOT NULL,"
              + " model_id VARCHAR(200) NOT NULL,"
              + " num_layers INT NOT NULL,"
              + " min_split INT NOT NULL,"
              + " max_split INT NOT NULL,"
              + " registration "
              + bin
              + " NOT NULL,"
              + " registered_at_unix_ms BIGINT NOT NULL)");
      s.execute(
          "CREATE TABLE IF NOT EXISTS controller_edge ("
              + " edge_id VARCHAR(200) PRIMARY KEY,"
              + " advertised_address VARCHAR(400) NOT NULL,"
              + " model_id VARCHAR(200) NOT NULL,"
              + " num_layers INT NOT NULL,"
              + " registration "
              + bin
              + " NOT NULL,"
              + " registered_at_unix_ms BIGINT NOT NULL)");
      s.execute(
          "CREATE TABLE IF NOT EXISTS controller_decision ("
              + " ue_id VARCHAR(200) NOT NULL,"
              + " epoch BIGINT NOT NULL,"
              + " split INT NOT NULL,"
              + " reason VARCHAR(60) NOT NULL,"
              + " policy VARCHAR(200) NOT NULL,"
              + " pinned BOOLEAN NOT NULL,"
              + " decided_at_unix_ms BIGINT NOT NULL,"
              + " decision "
              + bin
              + " NOT NULL,"
              + " PRIMARY KEY (ue_id, epoch))");
      s.execute(
          "CREATE TABLE IF NOT EXISTS controller_policy ("
              + " id INT PRIMARY KEY,"
              + " name VARCHAR(100) NOT NULL,"
              + " checkpoint VARCHAR(1000) NOT NULL,"
              + " set_at_unix_ms BIGINT NOT NULL)");
    }
  }

  public String url() {
    return url;
  }

  @Override
  public synchronized void ue(UeRegistration reg, int minSplit, int maxSplit, long atMs) {
    upsert(
        "UPDATE controller_ue SET edge_id = ?, model_id = ?, num_layers = ?, min_split = ?,"
            + " max_split = ?, registration = ?, registered_at_unix_ms = ? WHERE ue_id = ?",
        "INSERT INTO controller_ue(edge_id, model_id, num_layers, min_split, max_split,"
            + " registration, registered_at_unix_ms, ue_id) VALUES (?,?,?,?,?,?,?,?)",
        reg.getEdgeId(),
        reg.getModelId(),
        reg.getNumLayers(),
        minSplit,
        maxSplit,
        reg.toByteArray(),
        atMs,
        reg.getUeId());
  }

  @Override
  public synchronized void edge(EdgeRegistration reg, long atMs) {
    upsert(
        "UPDATE controller_edge SET advertised_address = ?, model_id = ?, num_layers = ?,"
            + " registration = ?, registered_at_unix_ms = ? WHERE edge_id = ?",
        "INSERT INTO controller_edge(advertised_address, model_id, num_layers, registration,"
            + " registered_at_unix_ms, edge_id) VALUES (?,?,?,?,?,?)",
        reg.getAdvertisedAddress(),
        reg.getModelId(),
        reg.getNumLayers(),
        reg.toByteArray(),
        atMs,
        reg.getEdgeId());
  }

  @Override
  public synchronized void decision(SplitDecision d) {
    try (PreparedStatement ps =
        conn.prepareStatement(
            "INSERT INTO controller_decision(ue_id, epoch, split, reason, policy, pinned,"
                + " decided_at_unix_ms, decision) VALUES (?,?,?,?,?,?,?,?)")) {
      ps.setString(1, d.getUeId());
      ps.setLong(2, d.getEpoch());
      ps.setInt(3, d.getSplit());
      ps.setString(4, d.getReason().name());
      ps.setString(5, d.getPolicy());
      ps.setBoolean(6, d.getPinned());
      ps.setLong(7, d.getDecidedAtUnixMs());
      ps.setBytes(8, d.toByteArray());
      ps.executeUpdate();
    } catch (SQLException e) {
      throw new IllegalStateException("cannot store decision: " + e.getMessage(), e);
    }
  }

  @Override
  public synchronized void policy(String name, String checkpoint, long atMs) {
    upsert(
        "UPDATE controller_policy SET name = ?, checkpoint = ?, set_at_unix_ms = ? WHERE id = ?",
        "INSERT INTO controller_policy(name, checkpoint, set_at_unix_ms, id) VALUES (?,?,?,?)",
        name,
        checkpoint == null ? "" : checkpoint,
        atMs,
        1);
  }

  /** Everything a restarted controller needs; UEs without a decision are left out. */
  public synchronized Snapshot load() {
    try {
      Map<String, SplitDecision> latest = new LinkedHashMap<>();
      try (Statement s = conn.createStatement();
          ResultSet rs =
              s.executeQuery(
                  "SELECT d.ue_id, d.decision FROM controller_decision d JOIN (SELECT ue_id,"
                      + " MAX(epoch) AS epoch FROM controller_decision GROUP BY ue_id) m ON"
                      + " d.ue_id = m.ue_id AND d.epoch = m.epoch")) {
        while (rs.next()) {
          latest.put(rs.getString(1), SplitDecision.parseFrom(rs.getBytes(2)));
        }
      }
      List<UeState> ues = new ArrayList<>();
      try (Statement s = conn.createStatement();
          ResultSet rs =
              s.executeQuery(
                  "SELECT ue_id, min_split, max_split, registration FROM controller_ue"
                      + " ORDER BY ue_id")) {
        while (rs.next()) {
          SplitDecision d = latest.get(rs.getString(1));
          if (d != null) {
            ues.add(
                new UeState(
                    UeRegistration.parseFrom(rs.getBytes(4)), rs.getInt(2), rs.getInt(3), d));
          }
        }
      }
      List<EdgeRegistration> edges = new ArrayList<>();
      try (Statement s = conn.createStatement();
          ResultSet rs =
              s.executeQuery("SELECT registration FROM controller_edge ORDER BY edge_id")) {
        while (rs.next()) {
          edges.add(EdgeRegistration.parseFrom(rs.getBytes(1)));
        }
      }
      Optional<PolicyChoice> policy = Optional.empty();
      try (Statement s = conn.createStatement();
          ResultSet rs =
              s.executeQuery("SELECT name, checkpoint FROM controller_policy WHERE id = 1")) {
        if (rs.next()) {
          policy = Optional.of(new PolicyChoice(rs.getString(1), rs.getString(2)));
        }
      }
      return new Snapshot(List.copyOf(ues), List.copyOf(edges), policy);
    } catch (SQLException | InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot load controller state: " + e.getMessage(), e);
    }
  }

  /** Every stored decision of {@code ueId}, oldest first (tools and tests). */
  public synchronized List<SplitDecision> decisions(String ueId) {
    try (PreparedStatement ps =
        conn.prepareStatement(
            "SELECT decision FROM controller_decision WHERE ue_id = ? ORDER BY epoch")) {
      ps.setString(1, ueId);
      List<SplitDecision> out = new ArrayList<>();
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          out.add(SplitDecision.parseFrom(rs.getBytes(1)));
        }
      }
      return out;
    } catch (SQLException | InvalidProtocolBufferException e) {
      throw new IllegalStateException("cannot read decisions: " + e.getMessage(), e);
    }
  }

  /** UPDATE by key, INSERT when no row matched; the key is the last parameter of both. */
  private void upsert(String update, String insert, Object... params) {
    try {
      conn.setAutoCommit(false);
      try {
        if (run(update, params) == 0) {
          run(insert, params);
        }
        conn.commit();
      } catch (SQLException e) {
        conn.rollback();
        throw e;
      } finally {
        conn.setAutoCommit(true);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("cannot store controller state: " + e.getMessage(), e);
    }
  }

  private int run(String sql, Object... params) throws SQLException {
    try (PreparedStatement ps = conn.prepareStatement(sql)) {
      for (int i = 0; i < params.length; i++) {
        Object p = params[i];
        if (p instanceof byte[] b) {
          ps.setBytes(i + 1, b);
        } else {
          ps.setObject(i + 1, p);
        }
      }
      return ps.executeUpdate();
    }
  }

  @Override
  public synchronized void close() {
    try {
      conn.close();
    } catch (SQLException e) {
      // closing: nothing to recover
    }
  }
}
