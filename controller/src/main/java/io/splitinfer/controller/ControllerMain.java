package io.splitinfer.controller;

import io.splitinfer.controller.cli.Commands;
import io.splitinfer.core.cli.FlagDefaults;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Command-line entry point of controller. */
@Command(
    name = "controller",
    mixinStandardHelpOptions = true,
    version = "controller 0.1.0",
    description = "Hosts the PPO split policy and pushes split decisions to UEs and edges.",
    showDefaultValues = true)
public final class ControllerMain implements Callable<Integer> {
  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 0;
  }

  public static void main(String[] args) {
    System.exit(FlagDefaults.install(commandLine(), args).execute(args));
  }

  /** The command line with every subcommand (serve, train, measure, ...). */
  public static CommandLine commandLine() {
    CommandLine cmd = new CommandLine(new ControllerMain());
    Commands.addAll(cmd);
    return cmd;
  }
}
