// Tensor element types, numbered exactly as GGUF/ggml numbers them (the numbers are on disk).
// Each type is a block format: `block_size` elements stored in `type_size` bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace whale {

enum class TensorType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ4_NL = 20,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  BF16 = 30,
};

struct TensorTypeTraits {
  TensorType type;
  std::string_view name;  // "f32", "q4_k", ... (lower case, as users type them)
  uint32_t block_size;    // elements per block
  uint32_t type_size;     // bytes per block
};

// nullopt for numbers whale does not know (the file is then rejected with a clear error).
std::optional<TensorTypeTraits> tensor_type_traits(uint32_t raw_type);
const TensorTypeTraits& traits(TensorType t);
std::optional<TensorType> tensor_type_from_name(std::string_view name);  // case-insensitive

// Bytes for n_elements of type t; nullopt when n_elements is not a whole number of blocks
// or the size overflows.
std::optional<uint64_t> tensor_bytes(TensorType t, uint64_t n_elements);

}  // namespace whale
