#include "quant/types.h"

#include <array>
#include <cctype>

#include "platform/result.h"

namespace whale {

namespace {

// Block geometry from ggml's block structs (QK4_0 = QK8_0 = 32, QK_K = 256). The byte sizes are
// the packed struct sizes: e.g. Q4_K = 2 halves (d, dmin) + 12 packed 6-bit scales + 128 nibbles.
constexpr std::array<TensorTypeTraits, 22> kTraits = {{
    {TensorType::F32, "f32", 1, 4},
    {TensorType::F16, "f16", 1, 2},
    {TensorType::Q4_0, "q4_0", 32, 2 + 16},
    {TensorType::Q4_1, "q4_1", 32, 2 + 2 + 16},
    {TensorType::Q5_0, "q5_0", 32, 2 + 4 + 16},
    {TensorType::Q5_1, "q5_1", 32, 2 + 2 + 4 + 16},
    {TensorType::Q8_0, "q8_0", 32, 2 + 32},
    {TensorType::Q8_1, "q8_1", 32, 2 + 2 + 32},
    {TensorType::Q2_K, "q2_k", 256, 16 + 64 + 2 + 2},
    {TensorType::Q3_K, "q3_k", 256, 32 + 64 + 12 + 2},
    {TensorType::Q4_K, "q4_k", 256, 2 + 2 + 12 + 128},
    {TensorType::Q5_K, "q5_k", 256, 2 + 2 + 12 + 32 + 128},
    {TensorType::Q6_K, "q6_k", 256, 128 + 64 + 16 + 2},
    {TensorType::Q8_K, "q8_k", 256, 4 + 256 + 32},
    {TensorType::IQ4_NL, "iq4_nl", 32, 2 + 16},
    {TensorType::IQ4_XS, "iq4_xs", 256, 2 + 2 + 4 + 128},
    {TensorType::I8, "i8", 1, 1},
    {TensorType::I16, "i16", 1, 2},
    {TensorType::I32, "i32", 1, 4},
    {TensorType::I64, "i64", 1, 8},
    {TensorType::F64, "f64", 1, 8},
    {TensorType::BF16, "bf16", 1, 2},
}};

}  // namespace

std::optional<TensorTypeTraits> tensor_type_traits(uint32_t raw_type) {
  for (const auto& t : kTraits)
    if (static_cast<uint32_t>(t.type) == raw_type) return t;
  return std::nullopt;
}

const TensorTypeTraits& traits(TensorType t) {
  for (const auto& tr : kTraits)
    if (tr.type == t) return tr;
  WHALE_CHECK(false, "tensor type missing from the traits table");
}

std::optional<TensorType> tensor_type_from_name(std::string_view name) {
  for (const auto& t : kTraits) {
    if (t.name.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(name[i])) == t.name[i];
    if (same) return t.type;
  }
  return std::nullopt;
}

std::optional<uint64_t> tensor_bytes(TensorType t, uint64_t n_elements) {
  const auto& tr = traits(t);
  if (n_elements % tr.block_size != 0) return std::nullopt;
  uint64_t blocks = n_elements / tr.block_size;
  if (blocks > UINT64_MAX / tr.type_size) return std::nullopt;
  return blocks * tr.type_size;
}

}  // namespace whale
