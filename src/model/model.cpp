#include "model/model.h"

#include <cstring>

#include "kernels/gemm_bf16.h"
#include "kernels/gemm_f32.h"
#include "model/weight_source.h"

namespace whale {

void KvView::store(int64_t layer, int64_t pos, int64_t column, const float* src, int64_t n,
                   int64_t offset) const {
  char* dst = static_cast<char*>(cell(layer, pos, column)) + offset * value_bytes();
  if (type == KvType::kF16)
    narrow_f32_to_f16(src, reinterpret_cast<uint16_t*>(dst), n);
  else if (type == KvType::kBF16)
    narrow_f32_to_bf16(src, reinterpret_cast<uint16_t*>(dst), n);
  else
    std::memcpy(dst, src, size_t(n) * sizeof(float));
}

void KvView::load(int64_t layer, int64_t pos, int64_t column, float* dst, int64_t n,
                  int64_t offset) const {
  const char* src = static_cast<const char*>(cell(layer, pos, column)) + offset * value_bytes();
  if (type != KvType::kF32)
    widen_half_to_f32(src, type == KvType::kBF16, dst, n);
  else
    std::memcpy(dst, src, size_t(n) * sizeof(float));
}

float* Workspace::f32(int slot, size_t n) {
  WHALE_CHECK(slot >= 0 && slot < kSlots, "workspace slot out of range");
  if (f32_[slot].size() < n) f32_[slot].resize(n);
  return f32_[slot].data();
}

int32_t* Workspace::i32(int slot, size_t n) {
  WHALE_CHECK(slot >= 0 && slot < kSlots, "workspace slot out of range");
  if (i32_[slot].size() < n) i32_[slot].resize(n);
  return i32_[slot].data();
}

size_t Workspace::bytes() const {
  size_t n = 0;
  for (const auto& v : f32_) n += v.size() * sizeof(float);
  for (const auto& v : i32_) n += v.size() * sizeof(int32_t);
  return n;
}

Result<std::unique_ptr<Model>> load_model(const std::string& path) {
  auto weights = open_weight_source(path);
  if (!weights) return weights.error();
  Result<std::unique_ptr<Model>> model = weights.value()->config().is_mla()
                                             ? load_deepseek2(std::move(weights.value()))
                                             : load_llama_family(std::move(weights.value()));
  if (!model) return Error{path + ": " + model.error().message};
  return model;
}

}  // namespace whale
