// Hugging Face checkpoint -> llama.cpp GGUF tensors: names, shapes and the data transforms
// llama.cpp's own converter (convert_hf_to_gguf.py) applies, so the result loads in llama.cpp:
//   - weights [out, in] keep their bytes; the GGUF shape is the HF shape reversed
//   - llama: q/k rows permuted from HF's rotate-half rope layout to GGUF's interleaved one
//   - deepseek2: routed experts stacked into one 3-D tensor per projection; kv_b_proj split
//     into attn_k_b (transposed per head) and attn_v_b, as current llama.cpp requires
//   - MTP (next-token prediction) layers past num_hidden_layers are skipped, as llama.cpp's
//     converter does; rotary inv_freq buffers are dropped
//   - llama3 rope scaling: the rope_freqs factor tensor is generated
//   - FP8 weights are dequantized with their block scales before anything else
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "formats/hf_checkpoint.h"
#include "platform/result.h"

namespace whale {

enum class TensorOp {
  kCopy,          // one HF tensor, same element order
  kPermuteRope,   // llama q/k weight or bias: rope row permutation (n_head_for_permute heads)
  kStackExperts,  // inputs are the experts' [out, in] weights in expert order
  kSplitKB,       // from kv_b_proj: per head, the nope rows, transposed to [kv_lora, nope]
  kSplitVB,       // from kv_b_proj: per head, the v rows
  kRopeFreqs,     // generated llama3 frequency factors (no inputs)
};

struct PlannedTensor {
  std::string gguf_name;
  std::vector<uint64_t> shape;  // GGUF order: shape[0] is the contiguous dimension
  TensorOp op = TensorOp::kCopy;
  std::vector<std::string> inputs;  // HF tensor names
  int64_t n_head_for_permute = 0;
  uint64_t n_elements() const;
};

// Every GGUF tensor in llama.cpp's order (token_embd, blocks, output_norm, output). Unknown HF
// tensor names, missing tensors and shape mismatches are Errors naming the tensor.
Result<std::vector<PlannedTensor>> plan_gguf_tensors(const HfCheckpoint& ck);

// Computes the tensor's f32 values in GGUF element order.
Status produce_f32(const PlannedTensor& t, const HfCheckpoint& ck, std::vector<float>& out);

// The llama rope permutation on rows (exposed for tests): row r of the result is row
// src_row(r) of the HF tensor. rows = n_head * head_dim.
int64_t rope_permuted_source_row(int64_t r, int64_t rows, int64_t n_head);

// llama3 rope frequency factors (rope_freqs.weight), head_dim / 2 values.
std::vector<float> llama3_rope_factors(const ModelConfig& c);

}  // namespace whale
