package io.splitinfer.edge;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@link EdgeMessageFuzzTarget} for 20 s: the fuzz run of {@code mvn -B verify}; a healthy session
 * must still work when it ends.
 */
class EdgeMessageQuickFuzzTest {
  static EdgeMessageFuzzTarget target;

  @BeforeAll
  static void up() throws Exception {
    target = new EdgeMessageFuzzTarget();
  }

  @AfterAll
  static void down() throws Exception {
    try {
      target.healthySession();
    } finally {
      target.close();
    }
  }

  @FuzzTest(maxDuration = "20s")
  void session(FuzzedDataProvider data) throws Exception {
    target.oneStream(data);
  }
}
