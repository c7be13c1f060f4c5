package io.splitinfer.core.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;

/**
 * Configuration precedence shared by every service: flags first, then an environment variable of
 * the same name ({@code --metrics-port} is {@code METRICS_PORT}), then a config file (Java
 * properties, keys are flag names without dashes: {@code metrics-port=9091}), then the built-in
 * default. The config file is named by {@code --config FILE} or the {@code CONFIG} variable.
 */
public final class FlagDefaults implements CommandLine.IDefaultValueProvider {
  private final Map<String, String> env;
  private final Properties file;

  public FlagDefaults(Map<String, String> env, Properties file) {
    this.env = Map.copyOf(env);
    this.file = file;
  }

  /** Builds the provider for a process from its arguments and environment. */
  public static FlagDefaults forProcess(String[] args, Map<String, String> env) {
    String config = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--config") && i + 1 < args.length) {
        config = args[i + 1];
      } else if (args[i].startsWith("--config=")) {
        config = args[i].substring("--config=".length());
      }
    }
    if (config == null) {
      config = env.get("CONFIG");
    }
    Properties props = new Properties();
    if (config != null && !config.isBlank()) {
      try (InputStream in = Files.newInputStream(Path.of(config))) {
        props.load(in);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read config file " + config, e);
      }
    }
    return new FlagDefaults(env, props);
  }

  /** Installs this provider on a command line and all its subcommands. */
  public static CommandLine install(CommandLine cmd, String[] args) {
    cmd.setDefaultValueProvider(forProcess(args, System.getenv()));
    return cmd;
  }

  /** The environment variable that sets a flag. */
  public static String envName(String longFlag) {
    return longFlag.replaceFirst("^-+", "").replace('-', '_').toUpperCase(Locale.ROOT);
  }

  @Override
  public String defaultValue(ArgSpec argSpec) {
    if (!(argSpec instanceof OptionSpec option)) {
      return argSpec.defaultValue();
    }
    String longName = option.longestName();
    String fromEnv = env.get(envName(longName));
    if (fromEnv != null) {
      return fromEnv;
    }
    String key = longName.replaceFirst("^-+", "");
    String fromFile = file.getProperty(key);
    if (fromFile != null) {
      return fromFile;
    }
    return argSpec.defaultValue();
  }
}
