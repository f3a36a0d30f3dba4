// GGUF v3 (read: v2 and v3): memory-mapped reader with zero-copy tensor views, and a writer.
// Layout (little endian): magic "GGUF", u32 version, u64 n_tensors, u64 n_kv, then n_kv
// key/value pairs, n_tensors tensor infos, padding to general.alignment, tensor data.
// Every count, string length, offset, size, type and shape is checked against the file
// before anything points into it: a hostile file yields an Error, never a crash.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "platform/mapped_file.h"
#include "platform/progress.h"
#include "platform/result.h"
#include "quant/types.h"

namespace whale {

enum class GgufValueType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};

// "u8", "i32", "str", "arr", ... (for messages and `whale info`).
std::string_view gguf_value_type_name(GgufValueType t);

struct GgufValue;
struct GgufArray {
  GgufValueType element_type = GgufValueType::UINT8;
  std::vector<GgufValue> items;  // nested arrays allowed
};

// One metadata value. Scalars keep their on-disk type so a round trip is exact.
struct GgufValue {
  GgufValueType type = GgufValueType::UINT8;
  std::variant<uint64_t, int64_t, double, bool, std::string, std::shared_ptr<GgufArray>> v;

  // Convenience constructors for the writer.
  static GgufValue u32(uint32_t x);
  static GgufValue i32(int32_t x);
  static GgufValue u64(uint64_t x);
  static GgufValue f32(float x);
  static GgufValue boolean(bool x);
  static GgufValue str(std::string s);
  static GgufValue array_of_str(std::vector<std::string> items);
  static GgufValue array_of_i32(const std::vector<int32_t>& items);
  static GgufValue array_of_f32(const std::vector<float>& items);

  std::optional<int64_t> as_int() const;   // any integer type (range checked)
  std::optional<double> as_float() const;  // any number
  std::optional<bool> as_bool() const;
  const std::string* as_string() const;
  const GgufArray* as_array() const;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> shape;  // GGUF order: shape[0] is the contiguous (fastest) dimension
  TensorType type = TensorType::F32;
  uint64_t offset = 0;  // from the start of the data section
  uint64_t n_bytes = 0;
  uint64_t n_elements() const;
};

// A tensor's bytes inside the mapping (zero copy).
struct TensorView {
  const GgufTensorInfo* info = nullptr;
  std::span<const uint8_t> data;
};

class GgufFile {
 public:
  // use: MappedFile::Use::kStreamedWeights when the file is opened to run the model.
  static Result<GgufFile> open(const std::string& path,
                               MappedFile::Use use = MappedFile::Use::kRandomAccess);
  // Parse from an existing buffer (used by fuzzers); `owner` keeps the bytes alive.
  static Result<GgufFile> parse(std::span<const uint8_t> bytes,
                                std::shared_ptr<const void> owner = nullptr);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // start of the tensor data section
  uint64_t file_size() const { return bytes_.size(); }
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* find(const std::string& key) const;
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<double> get_float(const std::string& key) const;
  std::optional<std::string> get_string(const std::string& key) const;
  std::optional<bool> get_bool(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;
  TensorView view(const GgufTensorInfo& t) const;

  // Frees the metadata (metadata() is empty and find / get_* answer nothing afterwards; the
  // tensors stay): a file kept open for its tensors alone need not hold a 150k-token vocabulary
  // as GgufValues, ~15 MB of heap.
  void drop_metadata();

 private:
  uint32_t version_ = 3;
  uint64_t alignment_ = 32;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
  std::span<const uint8_t> bytes_;
  uint64_t data_offset_ = 0;
  std::shared_ptr<const void> owner_;
};

// Writer: collect metadata and tensors, then write in one pass. Tensor data is produced by a
// callback at write time so converting a large model never holds it all in memory.
class GgufWriter {
 public:
  using Producer = std::function<Status(std::vector<uint8_t>& out)>;  // fills exactly n_bytes

  void set(const std::string& key, GgufValue value);  // replaces an existing key, keeps order
  void add_tensor(const std::string& name, std::vector<uint64_t> shape, TensorType type,
                  Producer produce);
  // Writes to path.tmp then renames, so a failed or interrupted write never leaves a
  // half-written file under the final name.
  // alignment must be a non-zero power of two; other than 32 it is recorded as
  // general.alignment (u32), as readers expect.
  Status write(const std::string& path, uint64_t alignment = 32);
  // Optional: advanced by each tensor's byte count as it is written.
  void set_progress(Progress* progress) { progress_ = progress; }

 private:
  struct Pending {
    std::string name;
    std::vector<uint64_t> shape;
    TensorType type;
    Producer produce;
  };
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Pending> tensors_;
  Progress* progress_ = nullptr;
};

}  // namespace whale
