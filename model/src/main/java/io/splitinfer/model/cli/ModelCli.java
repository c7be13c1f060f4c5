package io.splitinfer.model.cli;

import io.splitinfer.core.cli.FlagDefaults;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Command-line entry point of model. */
@Command(
    name = "model",
    mixinStandardHelpOptions = true,
    version = "model 0.1.0",
    description = "Converts checkpoints to model packages, inspects them, measures perplexity.",
    showDefaultValues = true)
public final class ModelCli implements Callable<Integer> {
  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 0;
  }

  public static void main(String[] args) {
    System.exit(FlagDefaults.install(new CommandLine(new ModelCli()), args).execute(args));
  }
}
