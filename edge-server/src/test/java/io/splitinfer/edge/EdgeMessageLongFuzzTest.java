package io.splitinfer.edge;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;

/**
 * {@link EdgeMessageFuzzTarget} for 10 minutes: {@code mvn -B verify -Pheavy}; a healthy session
 * must still work when it ends.
 */
@Tag("heavy")
class EdgeMessageLongFuzzTest {
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

  @FuzzTest(maxDuration = "10m")
  void session(FuzzedDataProvider data) throws Exception {
    target.oneStream(data);
  }
}
