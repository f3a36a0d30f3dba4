// Access to llama.cpp's own quantizers and dequantizers (the reference whale must match), loaded
// at test time from node-llama-cpp's prebuilt libggml-base.so. The struct below mirrors
// `struct ggml_type_traits` of the llama.cpp release that package bundles (checked against
// ggml/include/ggml.h in node-llama-cpp/llama/gitRelease.bundle: type_name, blck_size,
// blck_size_interleave, type_size, is_quantized, to_float, from_float_ref).
// A missing library is a test FAILURE, never a skip: CI installs it.
#pragma once

#include <dlfcn.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace whale::test {

struct GgmlTypeTraits {
  const char* type_name;
  int64_t blck_size;
  int64_t blck_size_interleave;
  size_t type_size;
  bool is_quantized;
  void (*to_float)(const void* x, float* y, int64_t k);
  void (*from_float_ref)(const float* x, void* y, int64_t k);
};

class GgmlReference {
 public:
  static GgmlReference& get() {
    static GgmlReference ref;
    return ref;
  }
  bool ok() const { return handle_ && get_type_traits_ && quantize_chunk_; }
  const std::string& error() const { return error_; }
  const std::string& path() const { return path_; }

  const GgmlTypeTraits* traits(uint32_t type) const { return get_type_traits_(int(type)); }
  // An exported row function by name (Q8_K's dequantizer is not in its type traits).
  void (*dequantizer(const char* symbol) const)(const void*, float*, int64_t) {
    return reinterpret_cast<void (*)(const void*, float*, int64_t)>(dlsym(handle_, symbol));
  }
  // ggml_quantize_chunk(type, src, dst, start, nrows, n_per_row, imatrix) -> bytes written
  size_t quantize_chunk(uint32_t type, const float* src, void* dst, int64_t nrows,
                        int64_t n_per_row) const {
    return quantize_chunk_(int(type), src, dst, 0, nrows, n_per_row, nullptr);
  }

 private:
  GgmlReference() {
    path_ = std::string(WHALE_SOURCE_DIR) +
            "/tools/npm/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so";
    handle_ = dlopen(path_.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
      const char* e = dlerror();
      error_ = std::string("cannot load llama.cpp reference ") + path_ + ": " + (e ? e : "?") +
               " (run scripts/install-deps.sh)";
      return;
    }
    get_type_traits_ =
        reinterpret_cast<const GgmlTypeTraits* (*)(int)>(dlsym(handle_, "ggml_get_type_traits"));
    quantize_chunk_ =
        reinterpret_cast<size_t (*)(int, const float*, void*, int64_t, int64_t, int64_t,
                                    const float*)>(dlsym(handle_, "ggml_quantize_chunk"));
    if (!get_type_traits_ || !quantize_chunk_) error_ = "libggml-base.so lacks expected symbols";
  }

  void* handle_ = nullptr;
  std::string path_, error_;
  const GgmlTypeTraits* (*get_type_traits_)(int) = nullptr;
  size_t (*quantize_chunk_)(int, const float*, void*, int64_t, int64_t, int64_t,
                            const float*) = nullptr;
};

}  // namespace whale::test
