// Read-only memory mapping of a whole file. Weights are never copied: tensor views point
// straight into this mapping, so the mapping must outlive every view (hold it by shared_ptr).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "platform/result.h"

namespace whale {

class MappedFile {
 public:
  enum class Use {
    kRandomAccess,     // metadata, tokenizers, conversion: mapped lazily in whatever pages
    kStreamedWeights,  // read whole on every token: in 2 MiB pages where the kernel can
  };
  static Result<std::shared_ptr<MappedFile>> open(const std::string& path,
                                                  Use use = Use::kRandomAccess);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

// Whole file into memory (small text files: config.json, tokenizer.json, templates).
Result<std::string> read_text_file(const std::string& path, size_t max_bytes = size_t(1) << 30);

}  // namespace whale
