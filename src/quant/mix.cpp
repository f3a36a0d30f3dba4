#include "quant/mix.h"

#include <array>
#include <cctype>
#include <cstdio>

namespace whale {

namespace {

struct TargetInfo {
  Target target;
  std::string_view name;
  uint32_t file_type;  // LLAMA_FTYPE_*
};
constexpr std::array<TargetInfo, 9> kTargets = {{
    {Target::f32, "f32", 0},
    {Target::f16, "f16", 1},
    {Target::bf16, "bf16", 32},
    {Target::q8_0, "q8_0", 7},
    {Target::q4_0, "q4_0", 2},
    {Target::q4_k, "q4_k", 14},  // LLAMA_FTYPE_MOSTLY_Q4_K_S
    {Target::q6_k, "q6_k", 18},
    {Target::q4_k_m, "q4_k_m", 15},
    {Target::q5_k_m, "q5_k_m", 17},
}};

bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}
bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "blk.12.ffn_down.weight" -> 12; -1 when the name has no layer.
int layer_of(std::string_view name) {
  if (name.substr(0, 4) != "blk.") return -1;
  int layer = 0;
  size_t i = 4;
  if (i >= name.size() || !std::isdigit(static_cast<unsigned char>(name[i]))) return -1;
  for (; i < name.size() && std::isdigit(static_cast<unsigned char>(name[i])); ++i) {
    layer = layer * 10 + (name[i] - '0');
    if (layer > 1000000) return -1;
  }
  return (i < name.size() && name[i] == '.') ? layer : -1;
}

bool use_more_bits(int i, int n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

bool is_attn_v_like(std::string_view name) {
  return contains(name, "attn_v.weight") || contains(name, "attn_qkv.weight") ||
         contains(name, "attn_kv_b.weight");
}

// Block type -> the type used when the row length does not divide into its blocks.
TensorType fallback(TensorType t, uint64_t row) {
  if (row % traits(t).block_size == 0) return t;
  TensorType f = TensorType::F16;
  switch (t) {
    case TensorType::Q4_K:
      f = TensorType::Q5_0;
      break;
    case TensorType::Q5_K:
      f = TensorType::Q5_1;
      break;
    case TensorType::Q6_K:
      f = TensorType::Q8_0;
      break;
    default:
      break;
  }
  return row % traits(f).block_size == 0 ? f : TensorType::F16;
}

}  // namespace

std::optional<Target> target_from_name(std::string_view name) {
  std::string lower;
  for (char c : name) lower += char(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& t : kTargets)
    if (t.name == lower) return t.target;
  return std::nullopt;
}

std::string_view target_name(Target t) {
  for (const auto& i : kTargets)
    if (i.target == t) return i.name;
  return "?";
}

std::string target_names() {
  std::string s;
  for (const auto& t : kTargets) {
    if (!s.empty()) s += ' ';
    s += t.name;
  }
  return s;
}

uint32_t target_file_type(Target t) {
  for (const auto& i : kTargets)
    if (i.target == t) return i.file_type;
  return 0;
}

TensorType choose_type(std::string_view name, const std::vector<uint64_t>& shape, Target target,
                       int n_layers, const MixOptions& options) {
  bool quantizable = shape.size() >= 2 && ends_with(name, "weight") &&
                     !contains(name, "_norm.weight") && !contains(name, "ffn_gate_inp.weight");
  if (!quantizable) return TensorType::F32;
  switch (target) {
    case Target::f32:
      return TensorType::F32;
    case Target::f16:
      return TensorType::F16;
    case Target::bf16:
      return TensorType::BF16;
    default:
      break;
  }
  const uint64_t row = shape[0];
  const bool is_output =
      name == "output.weight" || (options.tied_embeddings && name == "token_embd.weight");
  const int layer = layer_of(name);
  TensorType base = TensorType::Q4_K;
  switch (target) {
    case Target::q8_0:
      base = TensorType::Q8_0;
      break;
    case Target::q4_0:
      base = TensorType::Q4_0;
      break;
    case Target::q6_k:
      base = TensorType::Q6_K;
      break;
    case Target::q5_k_m:
      base = TensorType::Q5_K;
      break;
    default:
      break;
  }
  TensorType t = base;
  const bool k_m = target == Target::q4_k_m || target == Target::q5_k_m;
  if (is_output) {
    // llama.cpp: the output matrix gets Q6_K unless the target is Q8_0; Q8_0 if its rows do not
    // divide into 256-element super-blocks.
    if (base != TensorType::Q8_0) t = row % 256 == 0 ? TensorType::Q6_K : TensorType::Q8_0;
  } else if (is_attn_v_like(name)) {
    if (k_m && layer >= 0 && use_more_bits(layer, n_layers))
      t = TensorType::Q6_K;
    else if (target == Target::q4_k && layer >= 0 && layer < 4)
      t = TensorType::Q5_K;
    if (options.llama_70b && t == TensorType::Q4_K) t = TensorType::Q5_K;
  } else if (contains(name, "ffn_down")) {
    if (k_m && layer >= 0 && use_more_bits(layer, n_layers))
      t = TensorType::Q6_K;
    else if (target == Target::q4_k && layer >= 0 && layer < n_layers / 8)
      t = TensorType::Q5_K;
  }
  return fallback(t, row);
}

}  // namespace whale
