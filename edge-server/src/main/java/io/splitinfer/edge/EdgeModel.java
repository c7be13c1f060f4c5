package io.splitinfer.edge;

import io.splitinfer.model.engine.InferenceEngine;
import java.util.Objects;
import java.util.function.IntFunction;

/**
 * The model an edge serves: its identity (what a UE must match in SessionOpen), the engine that
 * runs its layers and a token-to-text function for Token.text.
 *
 * @param modelId model identifier, compared with SessionOpen.model_id
 * @param sha256 SHA-256 of the model package manifest, compared with SessionOpen.model_sha256
 * @param engine runs layers p+1..L and the head; owned by the caller
 * @param tokenText decoded text piece of one token id
 */
public record EdgeModel(
    String modelId, String sha256, InferenceEngine engine, IntFunction<String> tokenText) {
  public EdgeModel {
    Objects.requireNonNull(modelId, "modelId");
    Objects.requireNonNull(sha256, "sha256");
    Objects.requireNonNull(engine, "engine");
    Objects.requireNonNull(tokenText, "tokenText");
  }
}
