package io.splitinfer.ue;

import io.splitinfer.model.engine.InferenceEngine;
import java.util.Objects;

/**
 * The model a UE runs: identity sent in SessionOpen (must match the edge's) and the engine that
 * runs the embedding and layers 1..p.
 *
 * @param modelId model identifier
 * @param sha256 SHA-256 of the model package manifest
 * @param engine runs embed and layers 1..p; owned by the caller
 */
public record UeModel(String modelId, String sha256, InferenceEngine engine) {
  public UeModel {
    Objects.requireNonNull(modelId, "modelId");
    Objects.requireNonNull(sha256, "sha256");
    Objects.requireNonNull(engine, "engine");
  }
}
