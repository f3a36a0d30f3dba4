// GgufValue constructors and typed accessors.
#include <limits>

#include "formats/gguf.h"

namespace whale {

GgufValue GgufValue::u32(uint32_t x) {
  return {GgufValueType::UINT32, uint64_t(x)};
}
GgufValue GgufValue::i32(int32_t x) {
  return {GgufValueType::INT32, int64_t(x)};
}
GgufValue GgufValue::u64(uint64_t x) {
  return {GgufValueType::UINT64, x};
}
GgufValue GgufValue::f32(float x) {
  return {GgufValueType::FLOAT32, double(x)};
}
GgufValue GgufValue::boolean(bool x) {
  return {GgufValueType::BOOL, x};
}
GgufValue GgufValue::str(std::string s) {
  return {GgufValueType::STRING, std::move(s)};
}

GgufValue GgufValue::array_of_str(std::vector<std::string> items) {
  auto a = std::make_shared<GgufArray>();
  a->element_type = GgufValueType::STRING;
  a->items.reserve(items.size());
  for (auto& s : items) a->items.push_back(str(std::move(s)));
  return {GgufValueType::ARRAY, std::move(a)};
}

GgufValue GgufValue::array_of_i32(const std::vector<int32_t>& items) {
  auto a = std::make_shared<GgufArray>();
  a->element_type = GgufValueType::INT32;
  a->items.reserve(items.size());
  for (int32_t x : items) a->items.push_back(i32(x));
  return {GgufValueType::ARRAY, std::move(a)};
}

GgufValue GgufValue::array_of_f32(const std::vector<float>& items) {
  auto a = std::make_shared<GgufArray>();
  a->element_type = GgufValueType::FLOAT32;
  a->items.reserve(items.size());
  for (float x : items) a->items.push_back(f32(x));
  return {GgufValueType::ARRAY, std::move(a)};
}

std::optional<int64_t> GgufValue::as_int() const {
  if (const auto* u = std::get_if<uint64_t>(&v)) {
    if (*u > uint64_t(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return int64_t(*u);
  }
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  return std::nullopt;
}

std::optional<double> GgufValue::as_float() const {
  if (const auto* d = std::get_if<double>(&v)) return *d;
  if (const auto* u = std::get_if<uint64_t>(&v)) return double(*u);
  if (const auto* i = std::get_if<int64_t>(&v)) return double(*i);
  return std::nullopt;
}

std::optional<bool> GgufValue::as_bool() const {
  if (const auto* b = std::get_if<bool>(&v)) return *b;
  return std::nullopt;
}

const std::string* GgufValue::as_string() const {
  return std::get_if<std::string>(&v);
}

const GgufArray* GgufValue::as_array() const {
  if (const auto* a = std::get_if<std::shared_ptr<GgufArray>>(&v)) return a->get();
  return nullptr;
}

uint64_t GgufTensorInfo::n_elements() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;  // the reader rejects shapes whose product overflows
  return n;
}

}  // namespace whale
