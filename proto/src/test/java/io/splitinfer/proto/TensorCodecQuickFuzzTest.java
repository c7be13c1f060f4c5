package io.splitinfer.proto;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

/** {@link TensorCodecFuzzTarget} for 20 s: the fuzz run of {@code mvn -B verify}. */
class TensorCodecQuickFuzzTest {
  @FuzzTest(maxDuration = "20s")
  void decode(FuzzedDataProvider data) {
    TensorCodecFuzzTarget.decodeAcceptsOrRefusesCleanly(data);
  }
}
