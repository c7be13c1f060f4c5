package io.splitinfer.channelsim;

import io.splitinfer.core.cli.FlagDefaults;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Command-line entry point of channel-sim. */
@Command(
    name = "channel-sim",
    mixinStandardHelpOptions = true,
    version = "channel-sim 0.1.0",
    description = "gRPC proxy that impairs hidden states like a fading wireless uplink.",
    showDefaultValues = true)
public final class ChannelSimMain implements Callable<Integer> {
  @Override
  public Integer call() {
    CommandLine.usage(this, System.out);
    return 0;
  }

  public static void main(String[] args) {
    System.exit(FlagDefaults.install(new CommandLine(new ChannelSimMain()), args).execute(args));
  }
}
