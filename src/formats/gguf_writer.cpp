// GGUF writing: header, metadata in insertion order, tensor infos, zero padding, tensor data.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>

#include "formats/gguf.h"

namespace whale {

namespace {

// Appends little-endian encodings to a byte buffer (the header is built in memory; tensor
// data is streamed).
struct Encoder {
  std::vector<uint8_t> out;
  template <typename T>
  void put(T x) {
    const auto* p = reinterpret_cast<const uint8_t*>(&x);
    out.insert(out.end(), p, p + sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    out.insert(out.end(), s.begin(), s.end());
  }
};

Status encode_value(Encoder& e, const GgufValue& v, const std::string& key) {
  auto mismatch = [&] {
    return make_error("metadata '%s': value does not hold a %s", key.c_str(),
                      std::string(gguf_value_type_name(v.type)).c_str());
  };
  const auto* u = std::get_if<uint64_t>(&v.v);
  const auto* i = std::get_if<int64_t>(&v.v);
  const auto* d = std::get_if<double>(&v.v);
  switch (v.type) {
    case GgufValueType::UINT8:
      if (!u) return mismatch();
      e.put(uint8_t(*u));
      break;
    case GgufValueType::UINT16:
      if (!u) return mismatch();
      e.put(uint16_t(*u));
      break;
    case GgufValueType::UINT32:
      if (!u) return mismatch();
      e.put(uint32_t(*u));
      break;
    case GgufValueType::UINT64:
      if (!u) return mismatch();
      e.put(*u);
      break;
    case GgufValueType::INT8:
      if (!i) return mismatch();
      e.put(int8_t(*i));
      break;
    case GgufValueType::INT16:
      if (!i) return mismatch();
      e.put(int16_t(*i));
      break;
    case GgufValueType::INT32:
      if (!i) return mismatch();
      e.put(int32_t(*i));
      break;
    case GgufValueType::INT64:
      if (!i) return mismatch();
      e.put(*i);
      break;
    case GgufValueType::FLOAT32:
      if (!d) return mismatch();
      e.put(float(*d));
      break;
    case GgufValueType::FLOAT64:
      if (!d) return mismatch();
      e.put(*d);
      break;
    case GgufValueType::BOOL: {
      const auto* b = std::get_if<bool>(&v.v);
      if (!b) return mismatch();
      e.put(uint8_t(*b ? 1 : 0));
      break;
    }
    case GgufValueType::STRING: {
      const auto* s = v.as_string();
      if (!s) return mismatch();
      e.put_string(*s);
      break;
    }
    case GgufValueType::ARRAY: {
      const GgufArray* a = v.as_array();
      if (!a) return mismatch();
      e.put(uint32_t(a->element_type));
      e.put(uint64_t(a->items.size()));
      for (const auto& item : a->items) {
        if (item.type != a->element_type)
          return make_error("metadata '%s': array item of type %s in an array of %s", key.c_str(),
                            std::string(gguf_value_type_name(item.type)).c_str(),
                            std::string(gguf_value_type_name(a->element_type)).c_str());
        WHALE_TRY(encode_value(e, item, key));
      }
      break;
    }
    default:
      return make_error("metadata '%s': unknown value type %u", key.c_str(), unsigned(v.type));
  }
  return Status::Ok();
}

uint64_t align_up(uint64_t x, uint64_t a) {
  return (x + a - 1) / a * a;
}

// Owns the temporary file until commit(); destroying it uncommitted removes the file.
class TmpFile {
 public:
  TmpFile(std::string tmp, std::string final_path)
      : tmp_(std::move(tmp)), final_(std::move(final_path)) {}
  ~TmpFile() {
    if (f_) std::fclose(f_);
    if (!committed_) std::remove(tmp_.c_str());
  }
  Status open() {
    f_ = std::fopen(tmp_.c_str(), "wb");
    if (!f_) return make_error("cannot create %s: %s", tmp_.c_str(), std::strerror(errno));
    return Status::Ok();
  }
  Status write(const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f_) != n)
      return make_error("cannot write %s: %s", tmp_.c_str(), std::strerror(errno));
    return Status::Ok();
  }
  Status pad_to(uint64_t a, uint64_t& pos) {
    static const uint8_t zeros[256] = {};
    uint64_t n = align_up(pos, a) - pos;
    while (n > 0) {
      size_t k = size_t(std::min<uint64_t>(n, sizeof zeros));
      WHALE_TRY(write(zeros, k));
      n -= k;
      pos += k;
    }
    return Status::Ok();
  }
  Status commit() {
    // fflush + fsync before rename so a crash cannot leave a renamed but incomplete file.
    if (std::fflush(f_) != 0 || fsync(fileno(f_)) != 0)
      return make_error("cannot write %s: %s", tmp_.c_str(), std::strerror(errno));
    int rc = std::fclose(f_);
    f_ = nullptr;
    if (rc != 0) return make_error("cannot write %s: %s", tmp_.c_str(), std::strerror(errno));
    if (std::rename(tmp_.c_str(), final_.c_str()) != 0)
      return make_error("cannot rename %s to %s: %s", tmp_.c_str(), final_.c_str(),
                        std::strerror(errno));
    committed_ = true;
    return Status::Ok();
  }

 private:
  std::string tmp_, final_;
  std::FILE* f_ = nullptr;
  bool committed_ = false;
};

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
  for (auto& kv : kv_)
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  kv_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(const std::string& name, std::vector<uint64_t> shape, TensorType type,
                            Producer produce) {
  tensors_.push_back({name, std::move(shape), type, std::move(produce)});
}

Status GgufWriter::write(const std::string& path, uint64_t alignment) {
  if (alignment == 0 || (alignment & (alignment - 1)) != 0 || alignment > UINT32_MAX)
    return make_error("GGUF alignment %llu is not a power of two", (unsigned long long)alignment);
  if (alignment != 32 || [&] {
        for (auto& kv : kv_)
          if (kv.first == "general.alignment") return true;
        return false;
      }())
    set("general.alignment", GgufValue::u32(uint32_t(alignment)));

  // Validate tensors and lay out the data section before writing anything.
  std::vector<uint64_t> sizes, offsets;
  std::set<std::string> names;
  uint64_t data_pos = 0;
  for (const auto& t : tensors_) {
    if (t.name.empty()) return make_error("GGUF writer: tensor with an empty name");
    if (!names.insert(t.name).second)
      return make_error("GGUF writer: tensor '%s' added twice", t.name.c_str());
    if (t.shape.empty() || t.shape.size() > 4)
      return make_error("GGUF writer: tensor '%s' has %zu dimensions (must be 1 to 4)",
                        t.name.c_str(), t.shape.size());
    uint64_t n = 1;
    for (uint64_t d : t.shape) {
      if (d == 0 || d > uint64_t(INT64_MAX) / n)
        return make_error("GGUF writer: tensor '%s' has an invalid shape", t.name.c_str());
      n *= d;
    }
    const auto& tr = traits(t.type);
    auto nb = tensor_bytes(t.type, n);
    if (t.shape[0] % tr.block_size != 0 || !nb)
      return make_error(
          "GGUF writer: tensor '%s': row length %llu is not a multiple of the %s "
          "block size %u",
          t.name.c_str(), (unsigned long long)t.shape[0], std::string(tr.name).c_str(),
          tr.block_size);
    offsets.push_back(data_pos);
    sizes.push_back(*nb);
    data_pos = align_up(data_pos + *nb, alignment);
  }

  Encoder e;
  e.out.insert(e.out.end(), {'G', 'G', 'U', 'F'});
  e.put<uint32_t>(3);
  e.put<uint64_t>(tensors_.size());
  e.put<uint64_t>(kv_.size());
  for (const auto& [key, value] : kv_) {
    e.put_string(key);
    e.put(uint32_t(value.type));
    WHALE_TRY(encode_value(e, value, key));
  }
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const auto& t = tensors_[i];
    e.put_string(t.name);
    e.put(uint32_t(t.shape.size()));
    for (uint64_t d : t.shape) e.put(d);
    e.put(uint32_t(t.type));
    e.put(offsets[i]);
  }

  TmpFile f(path + ".tmp", path);
  WHALE_TRY(f.open());
  WHALE_TRY(f.write(e.out.data(), e.out.size()));
  uint64_t pos = e.out.size();
  WHALE_TRY(f.pad_to(alignment, pos));
  std::vector<uint8_t> buf;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    buf.clear();
    Status st = tensors_[i].produce(buf);
    if (!st.ok()) return st;
    if (buf.size() != sizes[i])
      return make_error("GGUF writer: tensor '%s' produced %zu bytes, expected %llu",
                        tensors_[i].name.c_str(), buf.size(), (unsigned long long)sizes[i]);
    WHALE_TRY(f.write(buf.data(), buf.size()));
    pos += buf.size();
    WHALE_TRY(f.pad_to(alignment, pos));
    if (progress_) progress_->advance(buf.size());
  }
  return f.commit();
}

}  // namespace whale
