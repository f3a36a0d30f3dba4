// The model layer's interface: one loaded network (weights + config) that evaluates a batch of
// tokens from several sequences, each with its own KV cache. One implementation per architecture
// family (model/llama_family.cpp, model/deepseek2.cpp); variants within a family are configs.
//
// The runtime layer owns KV memory and validates batches (token ids, positions, capacities);
// the model computes. A Model is immutable after loading and may be shared by many sessions:
// everything mutable (KV caches, Workspace) is passed in.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "formats/model_config.h"
#include "platform/result.h"

namespace whale {

class ThreadPool;
class WeightSource;

// How a KV cache stores its values: f32 (exact: what the reference implementations compute),
// f16 (half the memory and half the bytes decode attention reads, as llama.cpp's default cache;
// values round to 11 significant bits and saturate at +-65504) or bf16 (8 significant bits, f32's
// range: DeepSeek's reference inference keeps its MLA cache in bf16). Attention over a bf16
// cache also computes in bf16 (kernels/gemm_bf16.h): twice the multiply-adds per instruction
// where the CPU has AVX512-BF16, which is what long-context MLA decode is bound by.
enum class KvType : uint8_t { kF32, kF16, kBF16 };
inline int64_t kv_type_bytes(KvType t) {
  return t == KvType::kF32 ? 4 : 2;
}
inline const char* kv_type_name(KvType t) {
  return t == KvType::kF32 ? "f32" : t == KvType::kF16 ? "f16" : "bf16";
}

// What one token leaves in the cache, per layer: llama/qwen2 keep k then v
// (2 * n_kv_heads * head_dim values); MLA keeps the normalized latent then the roped shared key
// (kv_lora_rank + qk_rope_head_dim values) - that is all absorbed attention needs. A token's
// values are n_columns equal columns that attention reads separately (GQA: each kv head's key,
// then each kv head's value; MLA: one column, the whole row).
struct KvLayout {
  int64_t n_layers = 0;
  int64_t values_per_token = 0;
  int64_t n_columns = 1;
  KvType type = KvType::kF32;
  int64_t bytes_per_value() const { return kv_type_bytes(type); }
  bool operator==(const KvLayout&) const = default;
};

// One sequence's cache memory as a table of pages of 2^page_shift positions: position p of
// layer l is row p mod 2^page_shift of layer l's block in page p >> page_shift, layer blocks
// layer_stride values apart. The server's pages hold 16 positions of every layer (layer_stride =
// 16 * values_per_token) so a prompt's pages can be shared between sequences
// (runtime/radix_cache.h); a private cache is one page of [n_layers][capacity x values_per_token]
// (page_shift beyond any position). cell/store/load are the only ways the models reach it.
//
// A layer block is column-major by KvLayout column: column c's rows of the block's positions
// lie together, column_width values apart ([n_columns][page_positions][column_width]). A GQA
// head's keys are then one sequential stream per page (8 KiB of a 16-position page at
// head_dim 128 in f32, the whole context in a private cache) instead of 512-byte pieces of
// 2 KiB token rows, which the hardware prefetchers followed poorly when decode attention streams
// a long cache from memory.
struct KvView {
  float* const* pages = nullptr;  // page table (raw memory: values of `type`)
  int64_t page_shift = 0;
  int64_t layer_stride = 0;    // in values
  int64_t page_positions = 0;  // positions of a layer block (rows per column)
  int64_t column_width = 0;    // values_per_token / n_columns
  KvType type = KvType::kF32;

  static KvView over(float* const* pages, int64_t page_shift, int64_t page_positions,
                     const KvLayout& layout) {
    return {pages,
            page_shift,
            page_positions * layout.values_per_token,
            page_positions,
            layout.values_per_token / layout.n_columns,
            layout.type};
  }
  int64_t value_bytes() const { return kv_type_bytes(type); }
  // Address of column `column` (column_width values) of position pos in layer `layer`.
  void* cell(int64_t layer, int64_t pos, int64_t column = 0) const {
    const int64_t mask = (int64_t(1) << page_shift) - 1;
    const int64_t value =
        layer * layer_stride + (column * page_positions + (pos & mask)) * column_width;
    return reinterpret_cast<char*>(pages[pos >> page_shift]) + value * value_bytes();
  }
  // Writes src[0..n) into the cell's values [offset, offset + n), converted to `type`.
  void store(int64_t layer, int64_t pos, int64_t column, const float* src, int64_t n,
             int64_t offset = 0) const;
  // Reads the cell's values [offset, offset + n) into dst as f32.
  void load(int64_t layer, int64_t pos, int64_t column, float* dst, int64_t n,
            int64_t offset = 0) const;
};

// MLA evaluation form. Both are the same math (tested equal); absorbed reads only the latent
// cache (decode), expanded decompresses per-head keys/values once per batch (prefill).
// kAuto: expanded for a sequence with several tokens in the batch, absorbed for one.
enum class MlaForm { kAuto, kAbsorbed, kExpanded };

// A validated batch. Token i of sequence seq_ids[i] sits at positions[i]; its key/value are
// written at that position of caches[seq_ids[i]] and it attends to positions [0, positions[i]]
// of that cache (earlier tokens of the same sequence in this batch included).
struct BatchView {
  std::span<const int32_t> tokens;
  std::span<const int32_t> positions;
  std::span<const int32_t> seq_ids;
  std::span<const int32_t> logit_rows;  // batch indices whose logits are wanted, output order
  std::span<const KvView> caches;       // indexed by seq id
  MlaForm mla_form = MlaForm::kAuto;
  ThreadPool* pool = nullptr;  // threads for the products and attention heads; null: inline
};

// Activation scratch, grown on demand and reused: after the largest batch has been seen once, a
// forward pass allocates nothing (STYLE.md 11).
class Workspace {
 public:
  static constexpr int kSlots = 24;
  float* f32(int slot, size_t n);
  int32_t* i32(int slot, size_t n);
  size_t bytes() const;

 private:
  std::vector<float> f32_[kSlots];
  std::vector<int32_t> i32_[kSlots];
};

class Model {
 public:
  virtual ~Model() = default;
  virtual const ModelConfig& config() const = 0;
  virtual KvLayout kv_layout() const = 0;
  // Evaluates the batch; writes logit_rows.size() x vocab_size floats to `logits`.
  virtual void forward(const BatchView& batch, Workspace& ws, float* logits) const = 0;
};

// Opens a .gguf file or an HF checkpoint directory and builds the model of its architecture.
// Unknown architectures, missing tensors and wrong shapes are one-line Errors.
Result<std::unique_ptr<Model>> load_model(const std::string& path);

// Family constructors (the weight source is kept alive by the model).
Result<std::unique_ptr<Model>> load_llama_family(std::unique_ptr<WeightSource> weights);
Result<std::unique_ptr<Model>> load_deepseek2(std::unique_ptr<WeightSource> weights);

}  // namespace whale
