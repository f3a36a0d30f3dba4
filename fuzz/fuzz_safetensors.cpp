// libFuzzer target for the safetensors header parser: any byte string must give a parsed file
// or an Error, never a crash; every view of a parsed file must lie inside the input.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "formats/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  auto f = whale::SafetensorsFile::parse(bytes, nullptr, "fuzz");
  if (!f.ok()) return 0;
  std::vector<float> out;
  for (const auto& t : f->tensors()) {
    if (t.data.size() && (t.data.data() < data || t.data.data() + t.data.size() > data + size))
      __builtin_trap();
    if (t.n_elements() > (1u << 20)) continue;
    out.resize(size_t(t.n_elements()));
    (void)whale::st_to_f32(t, out.data());  // touches every byte of float tensors
  }
  return 0;
}
