#include "formats/safetensors.h"

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "platform/fp16.h"
#include "platform/mapped_file.h"

namespace whale {

namespace {

struct DtypeInfo {
  StDtype type;
  std::string_view name;
  size_t size;
};

constexpr DtypeInfo kDtypes[] = {
    {StDtype::F64, "F64", 8},   {StDtype::F32, "F32", 4},         {StDtype::F16, "F16", 2},
    {StDtype::BF16, "BF16", 2}, {StDtype::F8_E4M3, "F8_E4M3", 1}, {StDtype::F8_E5M2, "F8_E5M2", 1},
    {StDtype::I64, "I64", 8},   {StDtype::I32, "I32", 4},         {StDtype::I16, "I16", 2},
    {StDtype::I8, "I8", 1},     {StDtype::U8, "U8", 1},           {StDtype::BOOL, "BOOL", 1},
};

const DtypeInfo& info(StDtype t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return d;
  WHALE_CHECK(false, "unknown safetensors dtype enum");
}

// Reads a non-negative integer that fits u64 from a JSON value.
std::optional<uint64_t> json_u64(const nlohmann::json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() >= 0) return uint64_t(j.get<int64_t>());
  return std::nullopt;
}

// FP8 E5M2 is the top byte of an IEEE half.
float fp8_e5m2_to_f32(uint8_t v) {
  return f16_to_f32(uint16_t(v) << 8);
}

struct PendingTensor {
  StTensor tensor;  // data not yet pointed at the buffer
  uint64_t begin = 0;
  uint64_t size = 0;
};

Result<PendingTensor> parse_entry(const std::string& label, const std::string& name,
                                  const nlohmann::json& e, uint64_t buffer_size) {
  const char* n = name.c_str();
  const char* l = label.c_str();
  if (!e.is_object()) return make_error("%s: tensor '%s': entry is not a JSON object", l, n);
  auto dt = e.find("dtype");
  auto sh = e.find("shape");
  auto off = e.find("data_offsets");
  if (dt == e.end() || !dt->is_string())
    return make_error("%s: tensor '%s': missing or non-string \"dtype\"", l, n);
  if (sh == e.end() || !sh->is_array())
    return make_error("%s: tensor '%s': missing or non-array \"shape\"", l, n);
  if (off == e.end() || !off->is_array() || off->size() != 2)
    return make_error("%s: tensor '%s': \"data_offsets\" must be [begin, end]", l, n);

  PendingTensor p;
  StTensor& t = p.tensor;
  t.name = name;
  auto type = st_dtype_from_name(dt->get<std::string>());
  if (!type)
    return make_error("%s: tensor '%s': unknown dtype \"%s\"", l, n,
                      dt->get<std::string>().c_str());
  t.dtype = *type;
  if (sh->size() > 8) return make_error("%s: tensor '%s': too many dimensions", l, n);
  uint64_t count = 1;
  for (const auto& d : *sh) {
    auto v = json_u64(d);
    if (!v) return make_error("%s: tensor '%s': shape has a non-integer or negative entry", l, n);
    if (__builtin_mul_overflow(count, *v, &count))
      return make_error("%s: tensor '%s': shape product overflows", l, n);
    t.shape.push_back(*v);
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(count, uint64_t(info(t.dtype).size), &bytes))
    return make_error("%s: tensor '%s': byte size overflows", l, n);
  auto begin = json_u64((*off)[0]);
  auto end = json_u64((*off)[1]);
  if (!begin || !end)
    return make_error("%s: tensor '%s': data_offsets must be non-negative integers", l, n);
  if (*end < *begin) return make_error("%s: tensor '%s': data_offsets end < begin", l, n);
  if (*end > buffer_size)
    return make_error("%s: tensor '%s': data_offsets [%llu, %llu] beyond the data (%llu bytes)", l,
                      n, (unsigned long long)*begin, (unsigned long long)*end,
                      (unsigned long long)buffer_size);
  if (*end - *begin != bytes)
    return make_error("%s: tensor '%s': shape and dtype give %llu bytes but data_offsets span %llu",
                      l, n, (unsigned long long)bytes, (unsigned long long)(*end - *begin));
  p.begin = *begin;
  p.size = bytes;
  return p;
}

}  // namespace

std::optional<StDtype> st_dtype_from_name(std::string_view name) {
  for (const auto& d : kDtypes)
    if (d.name == name) return d.type;
  return std::nullopt;
}
std::string_view st_dtype_name(StDtype t) {
  return info(t).name;
}
size_t st_dtype_size(StDtype t) {
  return info(t).size;
}

uint64_t StTensor::n_elements() const {
  uint64_t n = 1;
  for (auto d : shape) n *= d;  // validated not to overflow at parse time
  return n;
}

Result<SafetensorsFile> SafetensorsFile::open(const std::string& path, MappedFile::Use use) {
  auto mapped = MappedFile::open(path, use);
  if (!mapped.ok()) return mapped.error();
  auto file = mapped.value();
  return parse(file->bytes(), file, path);
}

Result<SafetensorsFile> SafetensorsFile::parse(std::span<const uint8_t> bytes,
                                               std::shared_ptr<const void> owner,
                                               const std::string& label) {
  const char* l = label.c_str();
  if (bytes.size() < 8)
    return make_error("%s: not a safetensors file (shorter than the 8-byte header length)", l);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[size_t(i)];
  if (header_len > kMaxSafetensorsHeader)
    return make_error("%s: header length %llu exceeds the %llu-byte limit", l,
                      (unsigned long long)header_len, (unsigned long long)kMaxSafetensorsHeader);
  if (header_len > bytes.size() - 8)
    return make_error("%s: header length %llu is beyond the end of the file (%zu bytes)", l,
                      (unsigned long long)header_len, bytes.size());
  std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), size_t(header_len));
  const uint8_t* buffer = bytes.data() + 8 + header_len;
  uint64_t buffer_size = bytes.size() - 8 - header_len;

  // nlohmann keeps the last of duplicate keys silently; the callback spots them first.
  std::set<std::string> seen;
  std::string duplicate;
  auto spot_duplicates = [&](int depth, nlohmann::json::parse_event_t ev, nlohmann::json& j) {
    if (depth == 1 && ev == nlohmann::json::parse_event_t::key && j.is_string()) {
      if (!seen.insert(j.get<std::string>()).second && duplicate.empty())
        duplicate = j.get<std::string>();
    }
    return true;
  };
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, spot_duplicates);
  } catch (const std::exception& e) {
    return make_error("%s: header is not valid JSON (%s)", l, e.what());
  }
  if (!header.is_object()) return make_error("%s: header is not a JSON object", l);
  if (!duplicate.empty())
    return make_error("%s: tensor '%s' appears twice in the header", l, duplicate.c_str());

  SafetensorsFile f;
  f.label_ = label;
  f.owner_ = std::move(owner);
  std::vector<PendingTensor> pending;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) return make_error("%s: __metadata__ is not an object", l);
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string())
          return make_error("%s: __metadata__ value '%s' is not a string", l, m.key().c_str());
        f.metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    auto t = parse_entry(label, it.key(), it.value(), buffer_size);
    if (!t.ok()) return t.error();
    pending.push_back(std::move(t.value()));
  }
  // In data order, so that overlap is a check against the previous range only.
  std::stable_sort(
      pending.begin(), pending.end(),
      [](const PendingTensor& a, const PendingTensor& b) { return a.begin < b.begin; });
  uint64_t prev_end = 0;
  const PendingTensor* prev = nullptr;
  for (auto& p : pending) {
    if (p.size > 0) {
      if (prev && p.begin < prev_end)
        return make_error("%s: tensors '%s' and '%s' overlap in the data buffer", l,
                          prev->tensor.name.c_str(), p.tensor.name.c_str());
      prev_end = p.begin + p.size;
      prev = &p;
    }
  }
  for (auto& p : pending) {
    p.tensor.data = std::span<const uint8_t>(buffer + p.begin, size_t(p.size));
    f.tensors_.push_back(std::move(p.tensor));
  }
  for (size_t i = 0; i < f.tensors_.size(); ++i) f.index_[f.tensors_[i].name] = i;
  return f;
}

const StTensor* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Status st_to_f32(const StTensor& t, float* out) {
  const uint8_t* p = t.data.data();
  uint64_t n = t.n_elements();
  switch (t.dtype) {
    case StDtype::F32:
      if (n) std::memcpy(out, p, n * 4);
      return Status::Ok();
    case StDtype::F64:
      for (uint64_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, p + 8 * i, 8);
        out[i] = float(d);
      }
      return Status::Ok();
    case StDtype::F16:
    case StDtype::BF16:
      for (uint64_t i = 0; i < n; ++i) {
        uint16_t h = uint16_t(p[2 * i] | (p[2 * i + 1] << 8));
        out[i] = t.dtype == StDtype::F16 ? f16_to_f32(h) : bf16_to_f32(h);
      }
      return Status::Ok();
    case StDtype::F8_E4M3:
      for (uint64_t i = 0; i < n; ++i) out[i] = fp8_e4m3_to_f32(p[i]);
      return Status::Ok();
    case StDtype::F8_E5M2:
      for (uint64_t i = 0; i < n; ++i) out[i] = fp8_e5m2_to_f32(p[i]);
      return Status::Ok();
    default:
      return make_error("tensor '%s': dtype %s is not a floating-point type", t.name.c_str(),
                        std::string(st_dtype_name(t.dtype)).c_str());
  }
}

Status dequantize_fp8_blocks(const StTensor& weight, const StTensor& scale_inv, uint64_t block,
                             float* out) {
  const char* n = weight.name.c_str();
  if (weight.dtype != StDtype::F8_E4M3 && weight.dtype != StDtype::F8_E5M2)
    return make_error("tensor '%s': block scales given but the weight is not FP8", n);
  if (weight.shape.size() != 2 || scale_inv.shape.size() != 2)
    return make_error("tensor '%s': FP8 block dequantization needs 2-D weight and scale", n);
  if (block == 0) return make_error("tensor '%s': block size 0", n);
  uint64_t rows = weight.shape[0], cols = weight.shape[1];
  uint64_t br = (rows + block - 1) / block, bc = (cols + block - 1) / block;
  if (scale_inv.shape[0] != br || scale_inv.shape[1] != bc)
    return make_error(
        "tensor '%s': weight_scale_inv is [%llu, %llu], expected [%llu, %llu] for %llu-blocks", n,
        (unsigned long long)scale_inv.shape[0], (unsigned long long)scale_inv.shape[1],
        (unsigned long long)br, (unsigned long long)bc, (unsigned long long)block);
  std::vector<float> scales(br * bc);
  WHALE_TRY(st_to_f32(scale_inv, scales.data()));
  WHALE_TRY(st_to_f32(weight, out));
  for (uint64_t r = 0; r < rows; ++r) {
    const float* srow = scales.data() + (r / block) * bc;
    float* orow = out + r * cols;
    for (uint64_t c = 0; c < cols; ++c) orow[c] = orow[c] * srow[c / block];
  }
  return Status::Ok();
}

}  // namespace whale
