package io.splitinfer.core.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

class FlagDefaultsTest {
  @Command(name = "t")
  static class Cmd {
    @Option(names = "--metrics-port", defaultValue = "9090")
    int metricsPort;

    @Option(names = "--edge", defaultValue = "localhost:50051")
    String edge;
  }

  @Test
  void flagBeatsEnvBeatsFileBeatsDefault() {
    Properties file = new Properties();
    file.setProperty("metrics-port", "1111");
    file.setProperty("edge", "file:1");
    Cmd c = new Cmd();
    new CommandLine(c)
        .setDefaultValueProvider(new FlagDefaults(Map.of("EDGE", "env:2"), file))
        .parseArgs();
    assertEquals(1111, c.metricsPort);
    assertEquals("env:2", c.edge);

    Cmd d = new Cmd();
    new CommandLine(d)
        .setDefaultValueProvider(new FlagDefaults(Map.of("EDGE", "env:2"), file))
        .parseArgs("--edge", "flag:3");
    assertEquals("flag:3", d.edge);

    Cmd e = new Cmd();
    new CommandLine(e)
        .setDefaultValueProvider(new FlagDefaults(Map.of(), new Properties()))
        .parseArgs();
    assertEquals(9090, e.metricsPort);
    assertEquals("METRICS_PORT", FlagDefaults.envName("--metrics-port"));
  }
}
