package io.splitinfer.model.checkpoint;

/** Hugging Face tensor names of LlamaForCausalLM (layers are 1-based here, 0-based in names). */
public final class LlamaWeights {
  public static final String EMBED = "model.embed_tokens.weight";
  public static final String NORM = "model.norm.weight";
  public static final String LM_HEAD = "lm_head.weight";

  private LlamaWeights() {}

  /**
   * e.g. {@code layer(1, "self_attn.q_proj")} -> {@code model.layers.0.self_attn.q_proj.weight}.
   */
  public static String layer(int layer, String module) {
    return "model.layers." + (layer - 1) + "." + module + ".weight";
  }

  public static final String Q = "self_attn.q_proj";
  public static final String K = "self_attn.k_proj";
  public static final String V = "self_attn.v_proj";
  public static final String O = "self_attn.o_proj";
  public static final String GATE = "mlp.gate_proj";
  public static final String UP = "mlp.up_proj";
  public static final String DOWN = "mlp.down_proj";
  public static final String INPUT_NORM = "input_layernorm";
  public static final String POST_NORM = "post_attention_layernorm";
}
