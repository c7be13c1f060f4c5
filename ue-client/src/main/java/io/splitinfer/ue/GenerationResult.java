package io.splitinfer.ue;

import io.splitinfer.proto.v1.ChannelEstimate;
import io.splitinfer.proto.v1.SessionDone;
import java.util.List;

/**
 * What one generation produced and what it cost.
 *
 * @param tokenIds generated ids, in order
 * @param text concatenated text pieces from the edge
 * @param logprobs log-probability of each generated token
 * @param doneReason why the edge ended the session
 * @param splits (decode step, split) at the start and after every switch
 * @param timeToFirstTokenNanos from starting the session to the first token
 * @param totalNanos whole session
 * @param decodeNanos from the first token to the last
 * @param bytesSent all UeMessage bytes sent (protobuf + 5-byte gRPC framing)
 * @param decodeStepBytes bytes of the decode-step HiddenState messages (with framing)
 * @param decodeSteps decode-step HiddenStates sent
 * @param floorBytesPerStep hidden_size x bytes per element of the wire dtype
 * @param estimates channel estimates the edge returned for pilots
 * @param recoveries each time a session died and the generation resumed on an edge (same or next)
 */
public record GenerationResult(
    int[] tokenIds,
    String text,
    float[] logprobs,
    SessionDone.Reason doneReason,
    List<SplitAt> splits,
    long timeToFirstTokenNanos,
    long totalNanos,
    long decodeNanos,
    long bytesSent,
    long decodeStepBytes,
    long decodeSteps,
    long floorBytesPerStep,
    List<ChannelEstimate> estimates,
    List<Recovery> recoveries) {
  /**
   * One resumed failure.
   *
   * @param tokensBefore tokens the UE had received when the session died
   * @param cause the status that ended the dead session
   * @param attempts reconnect attempts it took
   * @param edgeIndex the edge (index in the UE's list) that took over
   * @param replayedPositions positions re-sent to rebuild the edge's state
   * @param nanos from noticing the failure to the first token from the new session
   */
  public record Recovery(
      int tokensBefore,
      String cause,
      int attempts,
      int edgeIndex,
      int replayedPositions,
      long nanos) {}

  /** A split in force from a decode step on. */
  public record SplitAt(long step, int split, long epoch) {}

  /** Decode tokens per second (tokens after the first over the decode time). */
  public double decodeTokensPerSecond() {
    return tokenIds.length > 1 && decodeNanos > 0 ? (tokenIds.length - 1) * 1e9 / decodeNanos : 0;
  }

  public double bytesPerDecodeStep() {
    return decodeSteps == 0 ? 0 : (double) decodeStepBytes / decodeSteps;
  }

  /**
   * Uplink bytes of the decode steps per token they brought (after the first token): a decode
   * step's bytes for one token per step, less per token when a speculative round brings several,
   * more when rows sent ahead were dropped.
   */
  public double bytesPerDecodeToken() {
    return tokenIds.length > 1 ? (double) decodeStepBytes / (tokenIds.length - 1) : 0;
  }

  /** Framing overhead of a decode step over the raw tensor floor, in percent. */
  public double framingOverheadPercent() {
    return floorBytesPerStep == 0 ? 0 : 100.0 * (bytesPerDecodeStep() / floorBytesPerStep - 1);
  }
}
