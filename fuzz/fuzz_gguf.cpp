// libFuzzer target: parse arbitrary bytes as GGUF and touch everything the parser hands out
// (metadata values, nested arrays, every byte of every tensor view, and dequantization of the
// first block of each tensor), so a bad bound anywhere shows up under ASan/UBSan.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "formats/gguf.h"
#include "quant/dequantize.h"

namespace {

volatile uint64_t g_sink;

void touch(const whale::GgufValue& v, uint64_t& acc) {
  if (auto i = v.as_int()) acc += uint64_t(*i);
  if (auto f = v.as_float()) acc += uint64_t(*f != *f);
  if (auto b = v.as_bool()) acc += *b;
  if (const auto* s = v.as_string()) acc += s->size() ? uint8_t((*s)[s->size() - 1]) : 0;
  if (const auto* a = v.as_array())
    for (const auto& item : a->items) touch(item, acc);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = whale::GgufFile::parse(std::span<const uint8_t>(data, size));
  if (!f) return 0;
  uint64_t acc = 0;
  for (const auto& [key, value] : f->metadata()) {
    acc += key.size();
    touch(value, acc);
  }
  std::vector<float> out;
  for (const auto& t : f->tensors()) {
    auto view = f->view(t);
    for (uint8_t b : view.data) acc += b;
    const auto& tr = whale::traits(t.type);
    if (whale::can_dequantize(t.type) && view.data.size() >= tr.type_size) {
      out.resize(tr.block_size);
      if (whale::dequantize_row(t.type, view.data.data(), out.data(), tr.block_size).ok())
        acc += uint64_t(out[0] != out[0]);
    }
  }
  g_sink = acc;
  return 0;
}
