package io.splitinfer.controller.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PolicyFactoryTest {
  @Test
  void shippedDefaultsLoadAndProposeSplitsInRange() {
    PolicyFactory f = new PolicyFactory("", "", -1, 1);
    for (String name : PolicyFactory.AVAILABLE) {
      SplitPolicy p = f.create(name, "");
      assertEquals(name, p.name());
      int s = p.propose(0.5, 2.0, 3, 1, 7);
      assertTrue(s >= 1 && s <= 7, name + " proposed " + s);
    }
    assertThrows(IllegalArgumentException.class, () -> f.create("nope", ""));
  }
}
