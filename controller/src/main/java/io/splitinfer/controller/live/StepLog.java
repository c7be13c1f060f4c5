package io.splitinfer.controller.live;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The UE's per-step log ({@code ue-client eval-ppl --steps-csv}): {@code
 * step,position,split,epoch,logprob,step_ms,switch}, one row per scored step; {@code logprob} is
 * the sum of the step's target log-probabilities. The tokens of a step come from a {@code tokens}
 * column when there is one, otherwise from the distance to the next row's position (the last row:
 * the same as the row before it, or {@code defaultTokens}).
 */
public final class StepLog {
  private StepLog() {}

  /** One scored step as the UE saw it. */
  public record Step(
      int step,
      long position,
      int split,
      long epoch,
      double logprob,
      int tokens,
      double stepMs,
      boolean switched) {}

  public static List<Step> read(Path csv, int defaultTokens) throws IOException {
    List<String> lines = Files.readAllLines(csv, StandardCharsets.UTF_8);
    if (lines.isEmpty()) {
      throw new IOException(csv + ": empty step log");
    }
    List<String> h = Arrays.asList(lines.get(0).trim().split(","));
    int iStep = col(h, "step", csv);
    int iPos = col(h, "position", csv);
    int iSplit = col(h, "split", csv);
    int iEpoch = col(h, "epoch", csv);
    int iLp = col(h, "logprob", csv);
    int iMs = col(h, "step_ms", csv);
    int iSw = col(h, "switch", csv);
    int iTok = h.indexOf("tokens");
    List<String[]> rows = new ArrayList<>();
    for (int i = 1; i < lines.size(); i++) {
      if (!lines.get(i).isBlank()) {
        rows.add(lines.get(i).trim().split(","));
      }
    }
    List<Step> out = new ArrayList<>(rows.size());
    for (int i = 0; i < rows.size(); i++) {
      String[] f = rows.get(i);
      try {
        long pos = Long.parseLong(f[iPos]);
        int tokens;
        if (iTok >= 0) {
          tokens = Integer.parseInt(f[iTok]);
        } else if (i + 1 < rows.size()) {
          tokens = (int) (Long.parseLong(rows.get(i + 1)[iPos]) - pos);
        } else {
          tokens = out.isEmpty() ? defaultTokens : out.get(out.size() - 1).tokens();
        }
        String sw = f[iSw].trim();
        out.add(
            new Step(
                Integer.parseInt(f[iStep]),
                pos,
                Integer.parseInt(f[iSplit]),
                Long.parseLong(f[iEpoch]),
                Double.parseDouble(f[iLp]),
                Math.max(1, tokens),
                Double.parseDouble(f[iMs]),
                sw.equals("1") || sw.equalsIgnoreCase("true")));
      } catch (RuntimeException e) {
        throw new IOException(csv + ": bad row " + (i + 2) + ": " + String.join(",", f), e);
      }
    }
    return out;
  }

  private static int col(List<String> header, String name, Path csv) throws IOException {
    int i = header.indexOf(name);
    if (i < 0) {
      throw new IOException(csv + ": no column '" + name + "' in " + header);
    }
    return i;
  }
}
