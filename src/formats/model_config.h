// ModelConfig: the hyper-parameters of one model, whichever file it came from
// (a Hugging Face config.json or a GGUF's metadata).
//
// The field list lives in ONE place, WHALE_MODEL_CONFIG_FIELDS below: parsing config.json,
// writing and reading GGUF metadata, printing (`whale info`) and comparing all iterate it, so
// adding a field cannot leave one of them behind.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "platform/result.h"

namespace whale {

class GgufFile;
class GgufWriter;

// Architectures whale runs, named as llama.cpp names them in general.architecture.
enum class ModelArch { deepseek2, qwen2, llama };
const char* model_arch_name(ModelArch a);

// When a field is written to GGUF under "{arch}.<gguf key>":
//   kAlways   every architecture
//   kMla      deepseek2 only (q_lora_rank is written even when 0, "no q compression": llama.cpp
//             reads the key for every deepseek2 model it does not recognise as V2-Lite by
//             layer count, so tiny test models need it)
//   kMoe      deepseek2 only, and only when it has routed experts
//   kPositive only when the value is > 0
//   kTrue     only when true (llama.cpp's converter writes expert_weights_norm only if set)
//   kYarn     only when rope scaling is yarn
//   kScaled   only when rope scaling is yarn or linear
//   kNone     not a llama.cpp key (derived from other keys, or HF-only)
enum class GgufWhen { kAlways, kMla, kMoe, kPositive, kTrue, kYarn, kScaled, kNone };

// X(kind, member, default, hf_key, gguf_key, when)
//   kind: INT (int64_t), FLOAT (double), BOOL, STR (std::string)
//   hf_key: key in config.json; "a.b" is key b inside object a
//   gguf_key: suffix after "{arch}." ("" when kNone)
#define WHALE_MODEL_CONFIG_FIELDS(X)                                                             \
  X(STR, architecture, "", "architectures", "", kNone)                                           \
  X(INT, vocab_size, 0, "vocab_size", "vocab_size", kAlways)                                     \
  X(INT, hidden_size, 0, "hidden_size", "embedding_length", kAlways)                             \
  X(INT, intermediate_size, 0, "intermediate_size", "feed_forward_length", kAlways)              \
  X(INT, moe_intermediate_size, 0, "moe_intermediate_size", "expert_feed_forward_length", kMla)  \
  X(INT, num_hidden_layers, 0, "num_hidden_layers", "block_count", kAlways)                      \
  X(INT, num_attention_heads, 0, "num_attention_heads", "attention.head_count", kAlways)         \
  X(INT, num_key_value_heads, 0, "num_key_value_heads", "", kNone)                               \
  X(INT, max_position_embeddings, 0, "max_position_embeddings", "context_length", kAlways)       \
  X(FLOAT, rms_norm_eps, 1e-6, "rms_norm_eps", "attention.layer_norm_rms_epsilon", kAlways)      \
  X(FLOAT, rope_theta, 10000.0, "rope_theta", "rope.freq_base", kAlways)                         \
  X(STR, rope_scaling_type, "none", "rope_scaling.type", "", kNone)                              \
  X(FLOAT, rope_scaling_factor, 1.0, "rope_scaling.factor", "rope.scaling.factor", kScaled)      \
  X(INT, rope_original_max_position_embeddings, 0,                                               \
    "rope_scaling.original_max_position_embeddings", "rope.scaling.original_context_length",     \
    kYarn)                                                                                       \
  X(FLOAT, rope_beta_fast, 32.0, "rope_scaling.beta_fast", "rope.scaling.yarn_beta_fast", kYarn) \
  X(FLOAT, rope_beta_slow, 1.0, "rope_scaling.beta_slow", "rope.scaling.yarn_beta_slow", kYarn)  \
  X(FLOAT, rope_mscale, 1.0, "rope_scaling.mscale", "", kNone)                                   \
  X(FLOAT, rope_mscale_all_dim, 0.0, "rope_scaling.mscale_all_dim", "", kNone)                   \
  X(FLOAT, rope_low_freq_factor, 1.0, "rope_scaling.low_freq_factor", "", kNone)                 \
  X(FLOAT, rope_high_freq_factor, 4.0, "rope_scaling.high_freq_factor", "", kNone)               \
  X(INT, q_lora_rank, 0, "q_lora_rank", "attention.q_lora_rank", kMla)                           \
  X(INT, kv_lora_rank, 0, "kv_lora_rank", "attention.kv_lora_rank", kMla)                        \
  X(INT, qk_nope_head_dim, 0, "qk_nope_head_dim", "", kNone)                                     \
  X(INT, qk_rope_head_dim, 0, "qk_rope_head_dim", "", kNone)                                     \
  X(INT, v_head_dim, 0, "v_head_dim", "attention.value_length_mla", kMla)                        \
  X(INT, n_routed_experts, 0, "n_routed_experts", "expert_count", kMoe)                          \
  X(INT, n_shared_experts, 0, "n_shared_experts", "expert_shared_count", kMla)                   \
  X(INT, num_experts_per_tok, 0, "num_experts_per_tok", "expert_used_count", kMoe)               \
  X(INT, first_k_dense_replace, 0, "first_k_dense_replace", "leading_dense_block_count", kMla)   \
  X(INT, moe_layer_freq, 1, "moe_layer_freq", "", kNone)                                         \
  X(STR, scoring_func, "softmax", "scoring_func", "", kNone)                                     \
  X(STR, topk_method, "greedy", "topk_method", "", kNone)                                        \
  X(INT, n_group, 0, "n_group", "expert_group_count", kMoe)                                      \
  X(INT, topk_group, 0, "topk_group", "expert_group_used_count", kMoe)                           \
  X(BOOL, norm_topk_prob, false, "norm_topk_prob", "expert_weights_norm", kTrue)                 \
  X(FLOAT, routed_scaling_factor, 1.0, "routed_scaling_factor", "expert_weights_scale", kMoe)    \
  X(INT, num_nextn_predict_layers, 0, "num_nextn_predict_layers", "", kNone)                     \
  X(BOOL, tie_word_embeddings, false, "tie_word_embeddings", "", kNone)                          \
  X(BOOL, attention_bias, false, "attention_bias", "", kNone)                                    \
  X(INT, bos_token_id, -1, "bos_token_id", "", kNone)                                            \
  X(INT, eos_token_id, -1, "eos_token_id", "", kNone)                                            \
  X(STR, torch_dtype, "", "torch_dtype", "", kNone)                                              \
  X(STR, quant_method, "", "quantization_config.quant_method", "", kNone)                        \
  X(INT, weight_block_size, 0, "quantization_config.weight_block_size", "", kNone)

#define WHALE_CONFIG_TYPE_INT int64_t
#define WHALE_CONFIG_TYPE_FLOAT double
#define WHALE_CONFIG_TYPE_BOOL bool
#define WHALE_CONFIG_TYPE_STR std::string

struct ModelConfig {
  ModelArch arch = ModelArch::llama;
#define WHALE_CONFIG_MEMBER(kind, member, def, hf, gguf, when) \
  WHALE_CONFIG_TYPE_##kind member = def;
  WHALE_MODEL_CONFIG_FIELDS(WHALE_CONFIG_MEMBER)
#undef WHALE_CONFIG_MEMBER

  bool is_mla() const {
    return arch == ModelArch::deepseek2;
  }
  bool has_moe() const {
    return is_mla() && n_routed_experts > 0;
  }
  // Layer il uses routed experts (DeepSeek: after the leading dense layers, every
  // moe_layer_freq-th layer).
  bool is_moe_layer(int64_t il) const;
  // Per-head size of the rotary part (llama.cpp's rope.dimension_count).
  int64_t rope_dim() const;
  int64_t head_dim() const;  // q/k head size for llama/qwen2; nope + rope for deepseek2
};

// The interpreted HF architectures: DeepseekV2ForCausalLM, DeepseekV3ForCausalLM,
// Qwen2ForCausalLM, LlamaForCausalLM. Missing optional keys take the defaults above.
Result<ModelConfig> config_from_hf_json(const nlohmann::json& j);
// Reads config.json from a file path (errors name the path).
Result<ModelConfig> config_from_hf_file(const std::string& path);

// llama.cpp's metadata keys (general.architecture, {arch}.block_count, ...).
Result<ModelConfig> config_from_gguf(const GgufFile& f);
void config_to_gguf(const ModelConfig& c, GgufWriter& w);

// One "name = value" line per field (`whale info`), in table order.
std::vector<std::pair<std::string, std::string>> config_fields_as_text(const ModelConfig& c);
// Names of fields whose values differ (empty when equal).
std::vector<std::string> config_differences(const ModelConfig& a, const ModelConfig& b);

}  // namespace whale
