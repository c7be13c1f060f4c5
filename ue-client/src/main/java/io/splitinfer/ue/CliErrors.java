package io.splitinfer.ue;

import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import picocli.CommandLine;

/**
 * How ue-client reports a failure: one line on stderr (the gRPC status and its description, or the
 * refusal's reason), no stack trace, and a non-zero exit code: {@link #USAGE} for bad flags and
 * values the UE refuses before it computes anything, {@link #FAILED} for an error from the edge,
 * the link or the local model.
 */
final class CliErrors {
  static final int FAILED = 1;
  static final int USAGE = 2;

  private CliErrors() {}

  /** Installs the one-line handlers on {@code cmd} (and its subcommands). */
  static CommandLine install(CommandLine cmd) {
    cmd.setParameterExceptionHandler(
        (ex, args) -> {
          ex.getCommandLine()
              .getErr()
              .println(
                  ex.getCommandLine().getCommandName()
                      + ": "
                      + oneLine(ex.getMessage())
                      + " (see --help)");
          return USAGE;
        });
    cmd.setExecutionExceptionHandler(
        (ex, c, parsed) -> {
          c.getErr().println(c.getCommandName() + ": " + describe(ex));
          return ex instanceof CommandLine.ParameterException || ex instanceof Refused
              ? USAGE
              : FAILED;
        });
    return cmd;
  }

  /** The one line for {@code e}: STATUS: description for gRPC errors, else the message. */
  static String describe(Throwable e) {
    if (e instanceof StatusRuntimeException s) {
      String d = s.getStatus().getDescription();
      String cause = s.getStatus().getCause() == null ? "" : " (" + describe(s.getCause()) + ")";
      return s.getStatus().getCode() + ": " + oneLine(d == null ? "" : d) + cause;
    }
    if (e instanceof UncheckedIOException u) {
      return describe(u.getCause());
    }
    if (e instanceof IOException) {
      return "I/O error: " + oneLine(String.valueOf(e.getMessage()));
    }
    String m = e.getMessage();
    return m == null || m.isBlank() ? e.getClass().getSimpleName() : oneLine(m);
  }

  private static String oneLine(String s) {
    return s.replaceAll("\\s*\\R\\s*", "; ").trim();
  }

  /** A value the UE refuses before it computes anything (exit {@link #USAGE}). */
  static final class Refused extends RuntimeException {
    Refused(String message) {
      super(message);
    }
  }
}
