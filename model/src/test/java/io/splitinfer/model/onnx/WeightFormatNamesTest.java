package io.splitinfer.model.onnx;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.splitinfer.core.objective.WeightFormatCost;
import org.junit.jupiter.api.Test;

/**
 * The controller compares weight formats by core's {@link WeightFormatCost#canonical} name; it must
 * be the name the converter writes into the manifest for the same format.
 */
class WeightFormatNamesTest {
  @Test
  void coreCanonicalNameIsTheManifestName() {
    for (String s :
        new String[] {
          "f32", "f16", "int8", "int4", "int4-g64", "int8-asym", "int4-g128-asym-a0", "int4-a1"
        }) {
      assertEquals(WeightFormat.parse(s).toString(), WeightFormatCost.canonical(s), s);
    }
  }
}
