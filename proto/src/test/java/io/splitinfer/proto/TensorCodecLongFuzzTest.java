package io.splitinfer.proto;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import org.junit.jupiter.api.Tag;

/** {@link TensorCodecFuzzTarget} for 10 minutes: {@code mvn -B verify -Pheavy}. */
@Tag("heavy")
class TensorCodecLongFuzzTest {
  @FuzzTest(maxDuration = "10m")
  void decode(FuzzedDataProvider data) {
    TensorCodecFuzzTarget.decodeAcceptsOrRefusesCleanly(data);
  }
}
