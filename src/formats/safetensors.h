// safetensors: Hugging Face's weight file format, read memory-mapped with zero copy.
// Layout: u64 little-endian header length N, N bytes of JSON
//   {"name": {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value"}}
// then the data buffer; offsets are relative to the start of that buffer.
// Everything is validated before a view is handed out (sizes, offsets, overlaps, duplicate
// names), so a hostile file yields one Error line, never a crash.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "platform/mapped_file.h"
#include "platform/result.h"

namespace whale {

enum class StDtype { F64, F32, F16, BF16, F8_E4M3, F8_E5M2, I64, I32, I16, I8, U8, BOOL };

std::optional<StDtype> st_dtype_from_name(std::string_view name);  // "BF16" -> BF16
std::string_view st_dtype_name(StDtype t);
size_t st_dtype_size(StDtype t);  // bytes per element

// The header may not exceed this (the reference implementation uses the same order of size).
inline constexpr uint64_t kMaxSafetensorsHeader = 100ull << 20;

struct StTensor {
  std::string name;
  StDtype dtype = StDtype::F32;
  std::vector<uint64_t> shape;  // row-major, shape.back() is the contiguous dimension
  std::span<const uint8_t> data;
  uint64_t n_elements() const;
};

class SafetensorsFile {
 public:
  static Result<SafetensorsFile> open(const std::string& path,
                                      MappedFile::Use use = MappedFile::Use::kRandomAccess);
  // Parse an in-memory image (fuzzers, tests); `owner` keeps the bytes alive. `label` names
  // the source in error messages.
  static Result<SafetensorsFile> parse(std::span<const uint8_t> bytes,
                                       std::shared_ptr<const void> owner, const std::string& label);

  // In file order of their data (begin offset), which is also the writer's order.
  const std::vector<StTensor>& tensors() const { return tensors_; }
  const StTensor* find(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& label() const { return label_; }

 private:
  std::vector<StTensor> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
  std::string label_;
  std::shared_ptr<const void> owner_;
};

// Converts a F32/F16/BF16/F64/F8 tensor to f32 (F8 without any scale). `out` holds
// n_elements() floats.
Status st_to_f32(const StTensor& t, float* out);

// DeepSeek-V3 FP8 checkpoints: weight [rows, cols] in F8_E4M3 and weight_scale_inv
// [ceil(rows/B), ceil(cols/B)] (B = block, 128 in the released configs; the last row/column
// block may be partial). Each value is fp8 * scale of its block, computed in f32 as the
// reference dequantizer does, so the result is exact.
Status dequantize_fp8_blocks(const StTensor& weight, const StTensor& scale_inv, uint64_t block,
                             float* out);

}  // namespace whale
