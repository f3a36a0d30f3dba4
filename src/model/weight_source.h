// WeightSource: the model's tensors by llama.cpp GGUF name, from either file kind.
//
//  - GGUF file: zero-copy views into the mapping; every tensor's type and shape is checked
//    against what the config implies before use (the reader already checked offsets/sizes).
//  - Hugging Face directory: the names are mapped with the converter's own plan
//    (formats/hf_to_gguf.h), but tensors are used IN THEIR HF LAYOUT, zero copy for
//    F32/F16/BF16:
//      * llama q/k rows are NOT rope-permuted  -> the model uses half-style rope
//        (rope_rows_interleaved() == false)
//      * kv_b_proj stays whole, served as "blk.N.attn_kv_b.weight" (the layout old deepseek2
//        GGUF files also use); the model slices it per head
//      * experts are separate tensors, served as an expert list
//    FP8 (and F64) weights are dequantized to F32 once at load: the one documented copy, exact
//    (FP8 x block scale is representable in f32), at 4 bytes per weight.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "formats/model_config.h"
#include "kernels/kernels.h"
#include "platform/result.h"

namespace whale {

class WeightSource {
 public:
  virtual ~WeightSource() = default;

  virtual const ModelConfig& config() const = 0;
  virtual bool has(const std::string& name) const = 0;

  // A weight whose GGUF shape (ne0 = contiguous dimension first) is `gguf_shape`, as a matrix of
  // cols = gguf_shape[0] and rows = the product of the other dimensions.
  virtual Result<MatrixView> matrix(const std::string& name,
                                    const std::vector<int64_t>& gguf_shape) = 0;

  // n_expert matrices [rows x cols]: a stacked GGUF tensor {cols, rows, n_expert} or, from an HF
  // checkpoint, one tensor per expert.
  virtual Result<std::vector<MatrixView>> experts(const std::string& name, int64_t n_expert,
                                                  int64_t rows, int64_t cols) = 0;

  // A 1-D tensor of n values (norm weights, biases) as f32, owned by the source.
  virtual Result<const float*> vector(const std::string& name, int64_t n) = 0;

  // True when llama q/k rows were permuted for pair-style rope (llama.cpp's converter did it).
  virtual bool rope_rows_interleaved() const = 0;

  // True for a GGUF file (some config facts, e.g. YaRN's mscale, are not stored in GGUF).
  virtual bool is_gguf() const = 0;
};

// Loads one named weight into `dst` or returns the Error from the enclosing loader.
#define WHALE_LOAD(dst, expr)                         \
  do {                                                \
    auto whale_load_r_ = (expr);                      \
    if (!whale_load_r_) return whale_load_r_.error(); \
    dst = whale_load_r_.value();                      \
  } while (0)

// Opens a .gguf file or an HF checkpoint directory.
Result<std::unique_ptr<WeightSource>> open_weight_source(const std::string& path);

}  // namespace whale
