package io.splitinfer.edge;

import io.splitinfer.core.cli.FlagDefaults;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Command-line entry point of edge-server. */
@Command(
    name = "edge-server",
    mixinStandardHelpOptions = true,
    version = "edge-server 0.1.0",
    description = "Runs decoder layers p+1..L, the LM head and sampling for UE sessions.",
    showDefaultValues = true)
public final class EdgeServerMain implements Callable<Integer> {
  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 0;
  }

  public static void main(String[] args) {
    System.exit(FlagDefaults.install(new CommandLine(new EdgeServerMain()), args).execute(args));
  }
}
