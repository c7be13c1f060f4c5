package io.splitinfer.ue;

import io.splitinfer.core.cli.FlagDefaults;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Command-line entry point of ue-client. */
@Command(
    name = "ue-client",
    mixinStandardHelpOptions = true,
    version = "ue-client 0.1.0",
    description = "Runs embedding + decoder layers 1..p and talks to an edge server.",
    showDefaultValues = true)
public final class UeClientMain implements Callable<Integer> {
  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 0;
  }

  public static void main(String[] args) {
    System.exit(FlagDefaults.install(new CommandLine(new UeClientMain()), args).execute(args));
  }
}
