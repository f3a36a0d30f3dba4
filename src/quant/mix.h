// Which tensor type each tensor gets when a model is converted or quantized to a target.
//
// Rules (they follow llama.cpp's choices for the same file types, so whale's files match the
// recipe users know):
//  * Not quantized, kept F32: tensors with fewer than 2 dimensions (norms, biases), names not
//    ending in "weight", "*_norm.weight", and the MoE router "ffn_gate_inp.weight".
//  * f32 / f16 / bf16: every other tensor gets that type.
//  * q8_0: every other tensor Q8_0.
//  * q4_0: Q4_0, except output.weight (and token_embd.weight when embeddings are tied, i.e. the
//    model has no output.weight) which get Q6_K.
//  * q4_k (file type Q4_K_S): Q4_K; output.weight Q6_K; attn_v-like tensors (attn_v,
//    attn_qkv, attn_kv_b) of layers 0-3 and ffn_down* of the first n_layers/8 layers Q5_K.
//  * q4_k_m: Q4_K; output.weight Q6_K; attn_v-like tensors and ffn_down* tensors (incl. the
//    MoE ffn_down_exps / ffn_down_shexp) Q6_K on the "more bits" layers: the first n/8, the
//    last n/8, and every third layer in between (i >= 7n/8 || i < n/8 || (i - n/8) % 3 == 2).
//  * q5_k_m: as q4_k_m with Q5_K in place of Q4_K.
//  * q6_k: Q6_K everywhere (output.weight too).
//  * Llama 70B-class models (option llama_70b): attn_v-like tensors that would be Q4_K get Q5_K.
//  * Shape fallback: a block type needs row length (shape[0]) divisible by its block size:
//    Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0 when the row is only a multiple of 32, and F16
//    when even that fails. 32-block types fall back to F16.
//  The layer of a tensor is the N of its "blk.N." prefix.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "quant/types.h"

namespace whale {

enum class Target { f32, f16, bf16, q8_0, q4_0, q4_k, q6_k, q4_k_m, q5_k_m };

struct MixOptions {
  bool tied_embeddings = false;  // no output.weight: token_embd doubles as the output matrix
  bool llama_70b = false;        // llama.cpp's LLM_TYPE_70B adjustment for attn_v
};

std::optional<Target> target_from_name(std::string_view name);  // "q4_k_m", case-insensitive
std::string_view target_name(Target t);
std::string target_names();  // "f32 f16 bf16 q8_0 q4_0 q4_k q6_k q4_k_m q5_k_m" (for errors)

// llama.cpp's general.file_type (LLAMA_FTYPE_*) number for the target.
uint32_t target_file_type(Target t);

TensorType choose_type(std::string_view gguf_tensor_name, const std::vector<uint64_t>& shape,
                       Target target, int n_layers, const MixOptions& options = {});

}  // namespace whale
