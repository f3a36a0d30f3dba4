// GGUF parsing. Every read is bounds checked by ByteReader; every count is checked against the
// bytes that remain before anything is reserved, so a hostile header cannot make us allocate
// more than a small multiple of the file's own size.
#include <algorithm>
#include <cstring>
#include <limits>

#include "formats/gguf.h"

namespace whale {

namespace {

constexpr uint32_t kMaxArrayDepth = 8;            // nested arrays deeper than this are rejected
constexpr uint64_t kMaxArrayElements = 1u << 24;  // all arrays together (vocabularies ~ 1e5-1e6)
constexpr uint64_t kMaxTensorNameLength = 4096;
constexpr uint32_t kMaxDims = 4;

class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> b) : b_(b) {}
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return b_.size() - pos_; }

  template <typename T>
  bool read(T& out) {
    if (remaining() < sizeof(T)) return false;
    std::memcpy(&out, b_.data() + pos_, sizeof(T));  // GGUF is little endian, like our hosts
    pos_ += sizeof(T);
    return true;
  }
  bool read_string(std::string& out) {
    uint64_t len;
    if (!read(len) || len > remaining()) return false;
    out.assign(reinterpret_cast<const char*>(b_.data() + pos_), size_t(len));
    pos_ += len;
    return true;
  }

 private:
  std::span<const uint8_t> b_;
  uint64_t pos_ = 0;
};

// Smallest encoding of one value of type t (used to bound hostile counts).
uint64_t min_encoded_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::UINT8:
    case GgufValueType::INT8:
    case GgufValueType::BOOL:
      return 1;
    case GgufValueType::UINT16:
    case GgufValueType::INT16:
      return 2;
    case GgufValueType::UINT32:
    case GgufValueType::INT32:
    case GgufValueType::FLOAT32:
      return 4;
    case GgufValueType::UINT64:
    case GgufValueType::INT64:
    case GgufValueType::FLOAT64:
    case GgufValueType::STRING:  // u64 length
      return 8;
    case GgufValueType::ARRAY:  // u32 element type + u64 count
      return 12;
  }
  return 1;
}

bool valid_value_type(uint32_t t) {
  return t <= uint32_t(GgufValueType::FLOAT64);
}

class Parser {
 public:
  explicit Parser(std::span<const uint8_t> bytes) : r_(bytes) {}

  // `what` names the key for error messages.
  Result<GgufValue> value(GgufValueType type, const std::string& what, uint32_t depth) {
    GgufValue out;
    out.type = type;
    auto truncated = [&] {
      return make_error("metadata '%s': value is truncated (file ends at byte %llu)", what.c_str(),
                        (unsigned long long)(r_.pos() + r_.remaining()));
    };
    switch (type) {
      case GgufValueType::UINT8:
        return unsigned_value<uint8_t>(out, truncated);
      case GgufValueType::UINT16:
        return unsigned_value<uint16_t>(out, truncated);
      case GgufValueType::UINT32:
        return unsigned_value<uint32_t>(out, truncated);
      case GgufValueType::UINT64:
        return unsigned_value<uint64_t>(out, truncated);
      case GgufValueType::INT8:
        return signed_value<int8_t>(out, truncated);
      case GgufValueType::INT16:
        return signed_value<int16_t>(out, truncated);
      case GgufValueType::INT32:
        return signed_value<int32_t>(out, truncated);
      case GgufValueType::INT64:
        return signed_value<int64_t>(out, truncated);
      case GgufValueType::FLOAT32: {
        float f;
        if (!r_.read(f)) return truncated();
        out.v = double(f);
        return out;
      }
      case GgufValueType::FLOAT64: {
        double d;
        if (!r_.read(d)) return truncated();
        out.v = d;
        return out;
      }
      case GgufValueType::BOOL: {
        uint8_t b;
        if (!r_.read(b)) return truncated();
        if (b > 1)
          return make_error("metadata '%s': bool value is %u (must be 0 or 1)", what.c_str(),
                            unsigned(b));
        out.v = b == 1;
        return out;
      }
      case GgufValueType::STRING: {
        std::string s;
        if (!r_.read_string(s))
          return make_error("metadata '%s': string length exceeds the file", what.c_str());
        out.v = std::move(s);
        return out;
      }
      case GgufValueType::ARRAY:
        return array(what, depth);
    }
    return make_error("metadata '%s': unknown value type %u", what.c_str(), unsigned(type));
  }

  Result<GgufValue> array(const std::string& what, uint32_t depth) {
    if (depth >= kMaxArrayDepth)
      return make_error("metadata '%s': arrays nested deeper than %u levels", what.c_str(),
                        kMaxArrayDepth);
    uint32_t raw_type;
    uint64_t count;
    if (!r_.read(raw_type) || !r_.read(count))
      return make_error("metadata '%s': array header is truncated", what.c_str());
    if (!valid_value_type(raw_type))
      return make_error("metadata '%s': array has unknown element type %u", what.c_str(), raw_type);
    auto et = GgufValueType(raw_type);
    if (count > r_.remaining() / min_encoded_size(et))
      return make_error("metadata '%s': array count %llu exceeds the file size", what.c_str(),
                        (unsigned long long)count);
    total_elements_ += count;
    if (total_elements_ > kMaxArrayElements)
      return make_error("metadata '%s': more than %llu array elements in total", what.c_str(),
                        (unsigned long long)kMaxArrayElements);
    auto a = std::make_shared<GgufArray>();
    a->element_type = et;
    a->items.reserve(size_t(count));
    for (uint64_t i = 0; i < count; ++i) {
      auto item = value(et, what, depth + 1);
      if (!item) return item.error();
      a->items.push_back(std::move(item.value()));
    }
    GgufValue out;
    out.type = GgufValueType::ARRAY;
    out.v = std::move(a);
    return out;
  }

  ByteReader& reader() { return r_; }

 private:
  template <typename T, typename F>
  Result<GgufValue> unsigned_value(GgufValue& out, F truncated) {
    T x;
    if (!r_.read(x)) return truncated();
    out.v = uint64_t(x);
    return out;
  }
  template <typename T, typename F>
  Result<GgufValue> signed_value(GgufValue& out, F truncated) {
    T x;
    if (!r_.read(x)) return truncated();
    out.v = int64_t(x);
    return out;
  }

  ByteReader r_;
  uint64_t total_elements_ = 0;
};

}  // namespace

std::string_view gguf_value_type_name(GgufValueType t) {
  static constexpr std::string_view names[] = {"u8",   "i8",  "u16", "i16", "u32", "i32", "f32",
                                               "bool", "str", "arr", "u64", "i64", "f64"};
  auto i = uint32_t(t);
  return i < std::size(names) ? names[i] : "?";
}

Result<GgufFile> GgufFile::open(const std::string& path, MappedFile::Use use) {
  auto mapped = MappedFile::open(path, use);
  if (!mapped) return mapped.error();
  std::shared_ptr<MappedFile> m = mapped.value();
  auto f = parse(m->bytes(), m);
  if (!f) return Error{path + ": " + f.error().message};
  return f;
}

Result<GgufFile> GgufFile::parse(std::span<const uint8_t> bytes,
                                 std::shared_ptr<const void> owner) {
  GgufFile f;
  f.bytes_ = bytes;
  f.owner_ = std::move(owner);
  Parser p(bytes);
  ByteReader& r = p.reader();

  char magic[4];
  if (!r.read(magic)) return make_error("not a GGUF file (%zu bytes, too short)", bytes.size());
  if (std::memcmp(magic, "GGUF", 4) != 0) return make_error("not a GGUF file (bad magic)");
  if (!r.read(f.version_)) return make_error("GGUF header is truncated");
  if (f.version_ != 2 && f.version_ != 3)
    return make_error("unsupported GGUF version %u (whale reads versions 2 and 3)", f.version_);
  uint64_t n_tensors, n_kv;
  if (!r.read(n_tensors) || !r.read(n_kv)) return make_error("GGUF header is truncated");
  // Smallest key/value: u64 key length + u32 type + 1 byte; smallest tensor info: u64 name
  // length + u32 n_dims + one u64 dim + u32 type + u64 offset.
  if (n_kv > r.remaining() / 13)
    return make_error("metadata count %llu exceeds the file size", (unsigned long long)n_kv);
  if (n_tensors > r.remaining() / 32)
    return make_error("tensor count %llu exceeds the file size", (unsigned long long)n_tensors);

  f.kv_.reserve(size_t(n_kv));
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key;
    if (!r.read_string(key))
      return make_error("metadata key %llu: key length exceeds the file", (unsigned long long)i);
    if (key.empty()) return make_error("metadata key %llu is empty", (unsigned long long)i);
    if (f.kv_index_.count(key)) return make_error("metadata key '%s' appears twice", key.c_str());
    uint32_t raw_type;
    if (!r.read(raw_type)) return make_error("metadata '%s': type is truncated", key.c_str());
    if (!valid_value_type(raw_type))
      return make_error("metadata '%s': unknown value type %u", key.c_str(), raw_type);
    auto v = p.value(GgufValueType(raw_type), key, 0);
    if (!v) return v.error();
    f.kv_index_[key] = f.kv_.size();
    f.kv_.emplace_back(std::move(key), std::move(v.value()));
  }

  if (const GgufValue* a = f.find("general.alignment")) {
    if (a->type != GgufValueType::UINT32)
      return make_error("general.alignment has type %s (must be u32)",
                        std::string(gguf_value_type_name(a->type)).c_str());
    uint64_t al = std::get<uint64_t>(a->v);
    if (al == 0 || (al & (al - 1)) != 0)
      return make_error("general.alignment is %llu (must be a non-zero power of two)",
                        (unsigned long long)al);
    f.alignment_ = al;
  }

  f.tensors_.reserve(size_t(n_tensors));
  for (uint64_t i = 0; i < n_tensors; ++i) {
    GgufTensorInfo t;
    if (!r.read_string(t.name))
      return make_error("tensor %llu: name length exceeds the file", (unsigned long long)i);
    if (t.name.empty()) return make_error("tensor %llu has an empty name", (unsigned long long)i);
    if (t.name.size() > kMaxTensorNameLength)
      return make_error("tensor %llu: name is %zu bytes long (limit %llu)", (unsigned long long)i,
                        t.name.size(), (unsigned long long)kMaxTensorNameLength);
    const char* nm = t.name.c_str();
    if (f.tensor_index_.count(t.name)) return make_error("tensor '%s' appears twice", nm);
    uint32_t n_dims;
    if (!r.read(n_dims)) return make_error("tensor '%s': info is truncated", nm);
    if (n_dims == 0 || n_dims > kMaxDims)
      return make_error("tensor '%s': %u dimensions (must be 1 to %u)", nm, n_dims, kMaxDims);
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim;
      if (!r.read(dim)) return make_error("tensor '%s': info is truncated", nm);
      if (dim == 0) return make_error("tensor '%s': dimension %u is zero", nm, d);
      // ggml keeps sizes as int64: the element count must fit in one.
      if (dim > uint64_t(std::numeric_limits<int64_t>::max()) / n_elements)
        return make_error("tensor '%s': element count overflows", nm);
      n_elements *= dim;
      t.shape.push_back(dim);
    }
    uint32_t raw_type;
    if (!r.read(raw_type)) return make_error("tensor '%s': info is truncated", nm);
    auto tr = tensor_type_traits(raw_type);
    if (!tr) return make_error("tensor '%s': unknown tensor type %u", nm, raw_type);
    t.type = tr->type;
    // Quantized rows are whole blocks: the contiguous dimension must divide into blocks.
    if (t.shape[0] % tr->block_size != 0)
      return make_error("tensor '%s': row length %llu is not a multiple of the %s block size %u",
                        nm, (unsigned long long)t.shape[0], std::string(tr->name).c_str(),
                        tr->block_size);
    auto nb = tensor_bytes(t.type, n_elements);
    if (!nb) return make_error("tensor '%s': byte size overflows", nm);
    t.n_bytes = *nb;
    if (!r.read(t.offset)) return make_error("tensor '%s': info is truncated", nm);
    if (t.offset % f.alignment_ != 0)
      return make_error("tensor '%s': offset %llu is not a multiple of the alignment %llu", nm,
                        (unsigned long long)t.offset, (unsigned long long)f.alignment_);
    f.tensor_index_[t.name] = f.tensors_.size();
    f.tensors_.push_back(std::move(t));
  }

  uint64_t pos = r.pos();
  f.data_offset_ = (pos + f.alignment_ - 1) / f.alignment_ * f.alignment_;
  if (f.data_offset_ < pos) return make_error("data section offset overflows");
  uint64_t data_size = f.data_offset_ <= bytes.size() ? bytes.size() - f.data_offset_ : 0;
  if (!f.tensors_.empty() && f.data_offset_ > bytes.size())
    return make_error("file ends before the tensor data section (byte %llu)",
                      (unsigned long long)f.data_offset_);

  for (const auto& t : f.tensors_) {
    if (t.offset > data_size || t.n_bytes > data_size - t.offset)
      return make_error(
          "tensor '%s': data [%llu, +%llu) runs past the end of the file (data section has %llu "
          "bytes)",
          t.name.c_str(), (unsigned long long)t.offset, (unsigned long long)t.n_bytes,
          (unsigned long long)data_size);
  }
  // Overlap check: sort ranges by start; each must end before the next begins.
  std::vector<const GgufTensorInfo*> order;
  for (const auto& t : f.tensors_) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    const auto* prev = order[i - 1];
    if (prev->offset + prev->n_bytes > order[i]->offset)
      return make_error("tensors '%s' and '%s' overlap in the data section", prev->name.c_str(),
                        order[i]->name.c_str());
  }
  return f;
}

void GgufFile::drop_metadata() {
  std::vector<std::pair<std::string, GgufValue>>().swap(kv_);
  kv_index_.clear();
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = kv_index_.find(key);
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

std::optional<int64_t> GgufFile::get_int(const std::string& key) const {
  const GgufValue* v = find(key);
  return v ? v->as_int() : std::nullopt;
}
std::optional<double> GgufFile::get_float(const std::string& key) const {
  const GgufValue* v = find(key);
  return v ? v->as_float() : std::nullopt;
}
std::optional<std::string> GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v || !v->as_string()) return std::nullopt;
  return *v->as_string();
}
std::optional<bool> GgufFile::get_bool(const std::string& key) const {
  const GgufValue* v = find(key);
  return v ? v->as_bool() : std::nullopt;
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

TensorView GgufFile::view(const GgufTensorInfo& t) const {
  // Ranges were validated by parse(); this is a plain slice.
  return {&t, bytes_.subspan(size_t(data_offset_ + t.offset), size_t(t.n_bytes))};
}

}  // namespace whale
