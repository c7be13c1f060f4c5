package io.splitinfer.controller.cli;

import io.splitinfer.controller.experiments.ExperimentsCommand;
import picocli.CommandLine;

/** Registers the controller's subcommands. */
public final class Commands {
  private Commands() {}

  public static void addAll(CommandLine cmd) {
    cmd.addSubcommand(new ServeCommand());
    cmd.addSubcommand(new TrainCommand());
    cmd.addSubcommand(new MeasureCommand());
    cmd.addSubcommand(new FitSurrogateCommand());
    cmd.addSubcommand(new EvaluateCommand());
    cmd.addSubcommand(new PlotDecisionsCommand());
    cmd.addSubcommand(new CompareCommand());
    cmd.addSubcommand(new LiveEvalCommand());
    cmd.addSubcommand(new ExperimentsCommand());
    cmd.addSubcommand(new OperatorCli());
  }
}
