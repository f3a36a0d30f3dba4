#include "formats/model_config.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "formats/gguf.h"
#include "platform/mapped_file.h"

namespace whale {

namespace {

enum class Kind { INT, FLOAT, BOOL, STR };

// The field table built from the X-macro: one row per field with a pointer to its member.
struct FieldRow {
  Kind kind;
  const char* name;
  const char* hf_key;
  const char* gguf_key;
  GgufWhen when;
  int64_t ModelConfig::*i = nullptr;
  double ModelConfig::*f = nullptr;
  bool ModelConfig::*b = nullptr;
  std::string ModelConfig::*s = nullptr;
};

template <typename T>
FieldRow make_row(Kind k, const char* name, const char* hf, const char* gguf, GgufWhen when,
                  T ModelConfig::*m) {
  FieldRow r{k, name, hf, gguf, when};
  if constexpr (std::is_same_v<T, int64_t>) r.i = m;
  if constexpr (std::is_same_v<T, double>) r.f = m;
  if constexpr (std::is_same_v<T, bool>) r.b = m;
  if constexpr (std::is_same_v<T, std::string>) r.s = m;
  return r;
}

const std::vector<FieldRow>& field_table() {
  static const std::vector<FieldRow> rows = {
#define WHALE_CONFIG_ROW(kind, member, def, hf, gguf, when) \
  make_row(Kind::kind, #member, hf, gguf, GgufWhen::when, &ModelConfig::member),
      WHALE_MODEL_CONFIG_FIELDS(WHALE_CONFIG_ROW)
#undef WHALE_CONFIG_ROW
  };
  return rows;
}

struct ArchName {
  const char* hf;
  ModelArch arch;
};
constexpr ArchName kHfArchitectures[] = {
    {"DeepseekV2ForCausalLM", ModelArch::deepseek2},
    {"DeepseekV3ForCausalLM", ModelArch::deepseek2},
    {"Qwen2ForCausalLM", ModelArch::qwen2},
    {"LlamaForCausalLM", ModelArch::llama},
};

// Looks up "a.b" as j["a"]["b"]; nullptr when any step is missing or null.
const nlohmann::json* lookup(const nlohmann::json& j, const std::string& path) {
  const nlohmann::json* cur = &j;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(part);
    if (it == cur->end() || it->is_null()) return nullptr;
    cur = &*it;
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

Status read_hf_field(const FieldRow& r, const nlohmann::json& root, ModelConfig& c) {
  const nlohmann::json* v = lookup(root, r.hf_key);
  // HF changed the rope_scaling key "type" to "rope_type" (Llama 3.1 uses the latter).
  if (!v && std::string(r.name) == "rope_scaling_type") v = lookup(root, "rope_scaling.rope_type");
  if (!v) return Status::Ok();
  // A few keys are lists in some configs: architectures, eos_token_id (Llama 3.1),
  // weight_block_size ([128, 128]); take the first entry (block sizes must agree).
  if (v->is_array()) {
    if (v->empty()) return make_error("config.json: '%s' is an empty list", r.hf_key);
    if (std::string(r.name) == "weight_block_size" && v->size() == 2 && (*v)[0] != (*v)[1])
      return make_error("config.json: non-square weight_block_size is not supported");
    v = &(*v)[0];
  }
  switch (r.kind) {
    case Kind::INT:
      if (!v->is_number_integer())
        return make_error("config.json: '%s' must be an integer", r.hf_key);
      if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX))
        return make_error("config.json: '%s' is out of range", r.hf_key);
      c.*r.i = v->get<int64_t>();
      break;
    case Kind::FLOAT:
      if (!v->is_number()) return make_error("config.json: '%s' must be a number", r.hf_key);
      c.*r.f = v->get<double>();
      if (!std::isfinite(c.*r.f)) return make_error("config.json: '%s' is not finite", r.hf_key);
      break;
    case Kind::BOOL:
      if (!v->is_boolean()) return make_error("config.json: '%s' must be true or false", r.hf_key);
      c.*r.b = v->get<bool>();
      break;
    case Kind::STR:
      if (!v->is_string()) return make_error("config.json: '%s' must be a string", r.hf_key);
      c.*r.s = v->get<std::string>();
      break;
  }
  return Status::Ok();
}

bool one_of(const std::string& s, std::initializer_list<const char*> options) {
  for (const char* o : options)
    if (s == o) return true;
  return false;
}

Status check_range(const char* name, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    return make_error("config: %s = %lld is out of the supported range [%lld, %lld]", name,
                      (long long)v, (long long)lo, (long long)hi);
  return Status::Ok();
}

// Sanity limits keep later size computations far from overflow on hostile configs.
Status validate(ModelConfig& c) {
  WHALE_TRY(check_range("vocab_size", c.vocab_size, 1, 1 << 24));
  WHALE_TRY(check_range("hidden_size", c.hidden_size, 1, 1 << 17));
  WHALE_TRY(check_range("num_hidden_layers", c.num_hidden_layers, 1, 4096));
  WHALE_TRY(check_range("num_attention_heads", c.num_attention_heads, 1, 1 << 12));
  if (c.num_key_value_heads == 0) c.num_key_value_heads = c.num_attention_heads;
  WHALE_TRY(check_range("num_key_value_heads", c.num_key_value_heads, 1, c.num_attention_heads));
  if (c.num_attention_heads % c.num_key_value_heads != 0)
    return make_error(
        "config: num_attention_heads %lld is not a multiple of num_key_value_heads %lld",
        (long long)c.num_attention_heads, (long long)c.num_key_value_heads);
  WHALE_TRY(check_range("intermediate_size", c.intermediate_size, 0, 1 << 20));
  WHALE_TRY(check_range("max_position_embeddings", c.max_position_embeddings, 0, 1ll << 31));
  WHALE_TRY(check_range("num_nextn_predict_layers", c.num_nextn_predict_layers, 0, 16));
  if (c.rope_scaling_type == "default") c.rope_scaling_type = "none";
  if (!one_of(c.rope_scaling_type, {"none", "linear", "yarn", "llama3"}))
    return make_error(
        "config: rope_scaling type '%s' is not supported (none, linear, yarn, llama3)",
        c.rope_scaling_type.c_str());
  if (c.rope_scaling_type == "yarn" && c.rope_original_max_position_embeddings <= 0)
    return make_error("config: yarn rope scaling needs original_max_position_embeddings");
  if (!(c.rms_norm_eps > 0) || !(c.rope_theta > 0))
    return make_error("config: rms_norm_eps and rope_theta must be positive");
  if (!one_of(c.scoring_func, {"softmax", "sigmoid"}))
    return make_error("config: scoring_func '%s' is not supported (softmax, sigmoid)",
                      c.scoring_func.c_str());
  if (!one_of(c.topk_method, {"greedy", "group_limited_greedy", "noaux_tc"}))
    return make_error("config: topk_method '%s' is not supported", c.topk_method.c_str());
  if (c.arch != ModelArch::deepseek2) {
    if (c.hidden_size % c.num_attention_heads != 0 || c.head_dim() % 2 != 0)
      return make_error("config: hidden_size / num_attention_heads must be an even integer");
    if (c.intermediate_size <= 0) return make_error("config: intermediate_size must be positive");
    return Status::Ok();
  }
  WHALE_TRY(check_range("kv_lora_rank", c.kv_lora_rank, 1, 1 << 16));
  WHALE_TRY(check_range("q_lora_rank", c.q_lora_rank, 0, 1 << 16));
  WHALE_TRY(check_range("qk_nope_head_dim", c.qk_nope_head_dim, 1, 1 << 12));
  WHALE_TRY(check_range("qk_rope_head_dim", c.qk_rope_head_dim, 2, 1 << 12));
  WHALE_TRY(check_range("v_head_dim", c.v_head_dim, 1, 1 << 12));
  if (c.qk_rope_head_dim % 2) return make_error("config: qk_rope_head_dim must be even");
  WHALE_TRY(check_range("first_k_dense_replace", c.first_k_dense_replace, 0, c.num_hidden_layers));
  WHALE_TRY(check_range("moe_layer_freq", c.moe_layer_freq, 1, 4096));
  if (c.first_k_dense_replace > 0 && c.intermediate_size <= 0)
    return make_error("config: intermediate_size must be positive (dense layers)");
  WHALE_TRY(check_range("n_routed_experts", c.n_routed_experts, 0, 1 << 12));
  if (c.n_routed_experts > 0) {
    WHALE_TRY(check_range("num_experts_per_tok", c.num_experts_per_tok, 1, c.n_routed_experts));
    WHALE_TRY(check_range("moe_intermediate_size", c.moe_intermediate_size, 1, 1 << 20));
    WHALE_TRY(check_range("n_shared_experts", c.n_shared_experts, 0, 64));
    WHALE_TRY(check_range("n_group", c.n_group, 0, c.n_routed_experts));
    if (c.n_group > 1 && c.n_routed_experts % c.n_group != 0)
      return make_error("config: n_routed_experts is not a multiple of n_group");
    WHALE_TRY(check_range("topk_group", c.topk_group, 0, std::max<int64_t>(c.n_group, 1)));
  }
  return Status::Ok();
}

void put(GgufWriter& w, const std::string& key, const FieldRow& r, const ModelConfig& c) {
  switch (r.kind) {
    case Kind::INT:
      w.set(key, GgufValue::u32(uint32_t(c.*r.i)));
      break;
    case Kind::FLOAT:
      w.set(key, GgufValue::f32(float(c.*r.f)));
      break;
    case Kind::BOOL:
      w.set(key, GgufValue::boolean(c.*r.b));
      break;
    case Kind::STR:
      w.set(key, GgufValue::str(c.*r.s));
      break;
  }
}

bool applies(const FieldRow& r, const ModelConfig& c) {
  switch (r.when) {
    case GgufWhen::kAlways:
      return true;
    case GgufWhen::kMla:
      return c.is_mla();
    case GgufWhen::kMoe:
      return c.has_moe() && (r.kind != Kind::INT || c.*r.i > 0);
    case GgufWhen::kPositive:
      return r.kind == Kind::INT && c.*r.i > 0;
    case GgufWhen::kTrue:
      return c.has_moe() && r.kind == Kind::BOOL && c.*r.b;
    case GgufWhen::kYarn:
      return c.rope_scaling_type == "yarn";
    case GgufWhen::kScaled:
      return one_of(c.rope_scaling_type, {"yarn", "linear"});
    case GgufWhen::kNone:
      return false;
  }
  return false;
}

std::string format_value(const FieldRow& r, const ModelConfig& c) {
  char buf[64];
  switch (r.kind) {
    case Kind::INT:
      return std::to_string(c.*r.i);
    case Kind::FLOAT:
      std::snprintf(buf, sizeof buf, "%.9g", c.*r.f);
      return buf;
    case Kind::BOOL:
      return c.*r.b ? "true" : "false";
    case Kind::STR:
      return c.*r.s;
  }
  return "";
}

}  // namespace

const char* model_arch_name(ModelArch a) {
  switch (a) {
    case ModelArch::deepseek2:
      return "deepseek2";
    case ModelArch::qwen2:
      return "qwen2";
    case ModelArch::llama:
      return "llama";
  }
  return "?";
}

bool ModelConfig::is_moe_layer(int64_t il) const {
  return has_moe() && il >= first_k_dense_replace && il % moe_layer_freq == 0;
}

int64_t ModelConfig::rope_dim() const {
  return is_mla() ? qk_rope_head_dim : head_dim();
}

int64_t ModelConfig::head_dim() const {
  if (is_mla()) return qk_nope_head_dim + qk_rope_head_dim;
  return num_attention_heads > 0 ? hidden_size / num_attention_heads : 0;
}

Result<ModelConfig> config_from_hf_json(const nlohmann::json& j) {
  if (!j.is_object()) return make_error("config.json: not a JSON object");
  ModelConfig c;
  try {
    for (const auto& r : field_table()) WHALE_TRY(read_hf_field(r, j, c));
  } catch (const std::exception& e) {
    return make_error("config.json: %s", e.what());
  }
  bool known = false;
  for (const auto& a : kHfArchitectures)
    if (c.architecture == a.hf) c.arch = a.arch, known = true;
  if (!known)
    return make_error(
        "config.json: architecture '%s' is not supported (DeepseekV2ForCausalLM, "
        "DeepseekV3ForCausalLM, Qwen2ForCausalLM, LlamaForCausalLM)",
        c.architecture.c_str());
  // Qwen2 always has q/k/v biases; its config.json does not say so.
  if (c.arch == ModelArch::qwen2) c.attention_bias = true;
  WHALE_TRY(validate(c));
  return c;
}

Result<ModelConfig> config_from_hf_file(const std::string& path) {
  auto text = read_text_file(path, 16 << 20);
  if (!text.ok()) return text.error();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.value());
  } catch (const std::exception& e) {
    return make_error("%s: not valid JSON (%s)", path.c_str(), e.what());
  }
  auto c = config_from_hf_json(j);
  if (!c.ok()) return make_error("%s: %s", path.c_str(), c.error().message.c_str());
  return c;
}

void config_to_gguf(const ModelConfig& c, GgufWriter& w) {
  const std::string a = model_arch_name(c.arch);
  w.set("general.architecture", GgufValue::str(a));
  for (const auto& r : field_table())
    if (applies(r, c)) put(w, a + "." + r.gguf_key, r, c);
  // Keys llama.cpp derives from several HF fields.
  w.set(a + ".rope.dimension_count", GgufValue::u32(uint32_t(c.rope_dim())));
  if (c.is_mla()) {
    // MLA is stored as MQA over the compressed KV (llama.cpp's converter does the same).
    w.set(a + ".attention.head_count_kv", GgufValue::u32(1));
    w.set(a + ".attention.key_length",
          GgufValue::u32(uint32_t(c.kv_lora_rank + c.qk_rope_head_dim)));
    w.set(a + ".attention.value_length", GgufValue::u32(uint32_t(c.kv_lora_rank)));
    w.set(a + ".attention.key_length_mla", GgufValue::u32(uint32_t(c.head_dim())));
    w.set(a + ".expert_gating_func", GgufValue::u32(c.scoring_func == "sigmoid" ? 2 : 1));
    // llama.cpp stores 0.1 * mscale_all_dim and divides by 0.1 when loading.
    if (c.rope_mscale_all_dim != 0.0)
      w.set(a + ".rope.scaling.yarn_log_multiplier",
            GgufValue::f32(float(0.1 * c.rope_mscale_all_dim)));
  } else {
    w.set(a + ".attention.head_count_kv", GgufValue::u32(uint32_t(c.num_key_value_heads)));
  }
  // llama3 scaling is carried by the rope_freqs tensor, not by a scaling type.
  if (one_of(c.rope_scaling_type, {"yarn", "linear"}))
    w.set(a + ".rope.scaling.type", GgufValue::str(c.rope_scaling_type));
}

Result<ModelConfig> config_from_gguf(const GgufFile& f) {
  ModelConfig c;
  auto arch = f.get_string("general.architecture");
  if (!arch) return make_error("GGUF has no general.architecture");
  if (*arch == "deepseek2") {
    c.arch = ModelArch::deepseek2;
  } else if (*arch == "qwen2") {
    c.arch = ModelArch::qwen2;
  } else if (*arch == "llama") {
    c.arch = ModelArch::llama;
  } else {
    return make_error("GGUF architecture '%s' is not supported (deepseek2, qwen2, llama)",
                      arch->c_str());
  }
  const std::string a = *arch;
  auto rope_type = f.get_string(a + ".rope.scaling.type");
  c.rope_scaling_type = rope_type ? *rope_type : "none";
  if (c.arch == ModelArch::llama && f.find_tensor("rope_freqs.weight"))
    c.rope_scaling_type = "llama3";
  for (const auto& r : field_table()) {
    if (r.when == GgufWhen::kNone) continue;
    const std::string key = a + "." + r.gguf_key;
    if (r.kind == Kind::INT) {
      if (auto v = f.get_int(key)) c.*r.i = *v;
    } else if (r.kind == Kind::FLOAT) {
      if (auto v = f.get_float(key)) c.*r.f = *v;
    } else if (r.kind == Kind::BOOL) {
      if (auto v = f.get_bool(key)) c.*r.b = *v;
    }
  }
  if (c.vocab_size == 0) {
    const GgufValue* tokens = f.find("tokenizer.ggml.tokens");
    if (tokens && tokens->as_array()) c.vocab_size = int64_t(tokens->as_array()->items.size());
  }
  int64_t rope_dim = f.get_int(a + ".rope.dimension_count").value_or(0);
  if (c.is_mla()) {
    c.architecture = "DeepseekV2ForCausalLM";
    c.num_key_value_heads = c.num_attention_heads;  // MLA expands to full multi-head attention
    c.qk_rope_head_dim = rope_dim;
    c.qk_nope_head_dim = f.get_int(a + ".attention.key_length_mla").value_or(0) - rope_dim;
    auto gating = f.get_int(a + ".expert_gating_func").value_or(1);
    c.scoring_func = gating == 2 ? "sigmoid" : "softmax";
    if (gating == 2) c.architecture = "DeepseekV3ForCausalLM";
    if (c.n_group > 1) c.topk_method = gating == 2 ? "noaux_tc" : "group_limited_greedy";
    if (auto m = f.get_float(a + ".rope.scaling.yarn_log_multiplier"))
      c.rope_mscale_all_dim = *m / 0.1;
    c.num_nextn_predict_layers = f.get_int(a + ".nextn_predict_layers").value_or(0);
  } else {
    c.architecture = c.arch == ModelArch::qwen2 ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
    c.num_key_value_heads =
        f.get_int(a + ".attention.head_count_kv").value_or(c.num_attention_heads);
  }
  c.attention_bias = c.arch == ModelArch::qwen2 || f.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.tie_word_embeddings = f.find_tensor("output.weight") == nullptr;
  c.bos_token_id = f.get_int("tokenizer.ggml.bos_token_id").value_or(-1);
  c.eos_token_id = f.get_int("tokenizer.ggml.eos_token_id").value_or(-1);
  WHALE_TRY(validate(c));
  return c;
}

std::vector<std::pair<std::string, std::string>> config_fields_as_text(const ModelConfig& c) {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("arch", model_arch_name(c.arch));
  for (const auto& r : field_table()) out.emplace_back(r.name, format_value(r, c));
  return out;
}

std::vector<std::string> config_differences(const ModelConfig& x, const ModelConfig& y) {
  std::vector<std::string> diff;
  if (x.arch != y.arch) diff.push_back("arch");
  for (const auto& r : field_table()) {
    bool same = true;
    switch (r.kind) {
      case Kind::INT:
        same = x.*r.i == y.*r.i;
        break;
      // GGUF stores f32: values equal after rounding to f32 are the same setting.
      case Kind::FLOAT:
        same = float(x.*r.f) == float(y.*r.f);
        break;
      case Kind::BOOL:
        same = x.*r.b == y.*r.b;
        break;
      case Kind::STR:
        same = x.*r.s == y.*r.s;
        break;
    }
    if (!same) diff.push_back(r.name);
  }
  return diff;
}

}  // namespace whale
