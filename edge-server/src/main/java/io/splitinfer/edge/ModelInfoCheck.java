package io.splitinfer.edge;

import io.splitinfer.proto.v1.ModelInfo;
import io.splitinfer.proto.v1.SessionOpen;

/** Checks that a UE runs the same model as the edge. */
final class ModelInfoCheck {
  private ModelInfoCheck() {}

  static void check(ModelInfo edge, SessionOpen open) {
    if (!edge.getModelId().equals(open.getModelId())
        || !edge.getSha256().equalsIgnoreCase(open.getModelSha256())) {
      throw SessionException.precondition(
          "model_mismatch",
          "model mismatch: the edge serves '"
              + edge.getModelId()
              + "' (sha256 "
              + edge.getSha256()
              + ") but the UE opened with '"
              + open.getModelId()
              + "' (sha256 "
              + open.getModelSha256()
              + ")");
    }
  }
}
