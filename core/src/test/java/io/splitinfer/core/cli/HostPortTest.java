package io.splitinfer.core.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class HostPortTest {
  @Test
  void parsesHostAndPort() {
    assertEquals(new HostPort("10.0.0.1", 50051), HostPort.parse("10.0.0.1:50051", "--edge"));
    assertEquals(new HostPort("edge-server", 0), HostPort.parse("edge-server:0", "--edge"));
  }

  @Test
  void refusesWhatIsNotHostPort() {
    for (String bad : new String[] {"50051", ":50051", "host:", "host:x", "host:70000"}) {
      IllegalArgumentException e =
          assertThrows(IllegalArgumentException.class, () -> HostPort.parse(bad, "--listen"));
      assertTrue(e.getMessage().startsWith("--listen"), e.getMessage());
    }
  }
}
