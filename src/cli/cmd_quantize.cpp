// whale quantize IN.gguf OUT.gguf T: re-encode every tensor of a GGUF file with the type policy
// of target T (quant/mix.h). Metadata is copied unchanged except general.file_type (set to
// llama.cpp's number for T) and general.quantization_version; tensor order is kept.
#include <algorithm>
#include <cstring>

#include "cli/args.h"
#include "cli/commands.h"
#include "formats/gguf.h"
#include "platform/progress.h"
#include "quant/dequantize.h"
#include "quant/mix.h"
#include "quant/quantize.h"

namespace whale::cli {

namespace {

// Rows are converted in chunks of about this many elements, so a huge tensor (an MoE expert
// stack is billions of elements) never needs a full f32 copy.
constexpr uint64_t kChunkElements = uint64_t(1) << 24;

// Produces the bytes of `t` re-encoded as `out_type`.
Status convert_tensor(const GgufFile& in, const GgufTensorInfo& t, TensorType out_type,
                      int n_threads, std::vector<uint8_t>& out) {
  TensorView view = in.view(t);
  if (out_type == t.type) {  // already the right type: copy, never re-quantize (no extra loss)
    out.assign(view.data.begin(), view.data.end());
    return Status::Ok();
  }
  const char* name = t.name.c_str();
  if (!can_dequantize(t.type))
    return make_error("tensor '%s': cannot convert from type %s", name,
                      std::string(traits(t.type).name).c_str());
  const uint64_t row = t.shape[0];
  const uint64_t n_rows = t.n_elements() / row;
  auto out_bytes = tensor_bytes(out_type, t.n_elements());
  auto out_row_bytes = tensor_bytes(out_type, row);
  if (!out_bytes || !out_row_bytes)
    return make_error("tensor '%s': row length %llu does not fit type %s", name,
                      (unsigned long long)row, std::string(traits(out_type).name).c_str());
  const uint64_t in_row_bytes = *tensor_bytes(t.type, row);
  out.resize(size_t(*out_bytes));
  const uint64_t rows_per_chunk = std::max<uint64_t>(1, kChunkElements / row);
  std::vector<float> f32(size_t(std::min(rows_per_chunk, n_rows) * row));
  for (uint64_t r0 = 0; r0 < n_rows; r0 += rows_per_chunk) {
    uint64_t nr = std::min(rows_per_chunk, n_rows - r0);
    for (uint64_t r = 0; r < nr; ++r)
      WHALE_TRY(dequantize_row(t.type, view.data.data() + (r0 + r) * in_row_bytes,
                               f32.data() + r * row, int64_t(row)));
    Status st = quantize_rows(out_type, f32.data(), out.data() + r0 * *out_row_bytes, int64_t(nr),
                              int64_t(row), n_threads);
    if (!st.ok()) return make_error("tensor '%s': %s", name, st.error().message.c_str());
  }
  return Status::Ok();
}

}  // namespace

int cmd_quantize(const std::vector<std::string>& argv) {
  auto parsed = parse_args(argv, {"--threads"}, {"--quiet"});
  if (!parsed) return fail(parsed.error());
  const Args& args = parsed.value();
  if (args.positionals.size() != 3)
    return fail(
        make_error("usage: whale quantize IN.gguf OUT.gguf T   (T: %s)", target_names().c_str()));
  const std::string &in_path = args.positionals[0], &out_path = args.positionals[1];
  auto target = target_from_name(args.positionals[2]);
  if (!target)
    return fail(make_error("unknown quantization type '%s' (valid: %s)",
                           args.positionals[2].c_str(), target_names().c_str()));
  int n_threads = 0;
  if (auto t = args.get("--threads")) {
    char* end = nullptr;
    long v = std::strtol(t->c_str(), &end, 10);
    if (t->empty() || *end != '\0' || v < 1 || v > 1024)
      return fail(make_error("--threads must be a number from 1 to 1024, got '%s'", t->c_str()));
    n_threads = int(v);
  }

  auto opened = GgufFile::open(in_path);
  if (!opened) return fail(opened.error());
  const GgufFile& in = opened.value();

  std::string arch = in.get_string("general.architecture").value_or("");
  int n_layers = int(in.get_int(arch + ".block_count").value_or(0));
  MixOptions mix;
  mix.tied_embeddings = in.find_tensor("output.weight") == nullptr;
  mix.llama_70b = arch == "llama" && n_layers == 80;

  GgufWriter w;
  for (const auto& [key, value] : in.metadata())
    if (key != "general.alignment") w.set(key, value);  // the writer records the alignment
  w.set("general.file_type", GgufValue::u32(target_file_type(*target)));
  Progress progress("quantize", 0, "B");
  bool any_quantized = false;
  uint64_t total_bytes = 0;
  for (const auto& t : in.tensors()) {
    TensorType out_type = choose_type(t.name, t.shape, *target, n_layers, mix);
    // Integer tensors and types whale cannot decode are carried over unchanged.
    if (!can_dequantize(t.type)) out_type = t.type;
    any_quantized |= traits(out_type).block_size > 1;
    total_bytes += t.n_bytes;
    const GgufTensorInfo* info = &t;
    // Progress counts input bytes: that is where the time goes (decode + encode).
    w.add_tensor(t.name, t.shape, out_type,
                 [&in, info, out_type, n_threads, &progress](std::vector<uint8_t>& out) {
                   Status s = convert_tensor(in, *info, out_type, n_threads, out);
                   progress.advance(info->n_bytes);
                   return s;
                 });
  }
  if (any_quantized) w.set("general.quantization_version", GgufValue::u32(2));
  progress.reset(total_bytes);
  progress.set_enabled(!args.has("--quiet"));
  Status st = w.write(out_path, in.alignment());
  if (!st.ok()) return fail(st.error());
  progress.finish();
  return 0;
}

}  // namespace whale::cli
