// whale convert HF_DIR OUT.gguf --type T
// Hugging Face checkpoint (config.json + safetensors, BF16/F16/F32 or FP8 with block scales)
// -> one GGUF that llama.cpp and whale load. Tensors are produced one at a time while the
// file is written, so memory stays near the size of the largest tensor.
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "formats/gguf.h"
#include "formats/hf_checkpoint.h"
#include "formats/hf_to_gguf.h"
#include "formats/hf_tokenizer_to_gguf.h"
#include "formats/model_config.h"
#include "platform/mapped_file.h"
#include "platform/progress.h"
#include "quant/mix.h"
#include "quant/quantize.h"

namespace whale::cli {

namespace {

Result<int> parse_threads(const Args& args) {
  auto t = args.get("--threads");
  if (!t) return 0;
  char* end = nullptr;
  long v = std::strtol(t->c_str(), &end, 10);
  if (t->empty() || *end != '\0' || v < 1 || v > 1024)
    return make_error("--threads must be a number from 1 to 1024, got '%s'", t->c_str());
  return int(v);
}

std::string base_name(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  auto slash = dir.find_last_of('/');
  return slash == std::string::npos ? dir : dir.substr(slash + 1);
}

}  // namespace

int cmd_convert(const std::vector<std::string>& argv) {
  auto parsed = parse_args(argv, {"--type", "--threads"}, {"--quiet"});
  if (!parsed) return fail(parsed.error());
  const Args& args = parsed.value();
  if (args.positionals.size() != 2)
    return fail(make_error("usage: whale convert HF_DIR OUT.gguf --type T   (T: %s)",
                           target_names().c_str()));
  const std::string &dir = args.positionals[0], &out_path = args.positionals[1];
  const std::string type_name = args.get_or("--type", "f16");
  auto target = target_from_name(type_name);
  if (!target)
    return fail(
        make_error("unknown --type '%s' (valid: %s)", type_name.c_str(), target_names().c_str()));
  auto threads = parse_threads(args);
  if (!threads) return fail(threads.error());

  auto opened = HfCheckpoint::open(dir);
  if (!opened) return fail(opened.error());
  const HfCheckpoint& ck = opened.value();
  const ModelConfig& c = ck.config();
  auto plan = plan_gguf_tensors(ck);
  if (!plan) return fail(make_error("%s: %s", dir.c_str(), plan.error().message.c_str()));

  auto config_text = read_text_file(dir + "/config.json", 16 << 20);
  if (!config_text) return fail(config_text.error());
  nlohmann::json config_json;
  try {
    config_json = nlohmann::json::parse(config_text.value());
  } catch (const std::exception& e) {
    return fail(make_error("%s/config.json: %s", dir.c_str(), e.what()));
  }
  auto tok = read_hf_tokenizer(dir, config_json, c.vocab_size);
  if (!tok) return fail(tok.error());

  GgufWriter w;
  config_to_gguf(c, w);
  w.set("general.name", GgufValue::str(base_name(dir)));
  w.set("general.file_type", GgufValue::u32(target_file_type(*target)));
  tokenizer_to_gguf(tok.value(), w);

  MixOptions mix;
  mix.tied_embeddings = true;
  for (const auto& t : plan.value())
    if (t.gguf_name == "output.weight") mix.tied_embeddings = false;
  mix.llama_70b = c.arch == ModelArch::llama && c.num_hidden_layers == 80;

  bool any_quantized = false;
  uint64_t total = 0;
  const int n_threads = threads.value();
  for (const auto& t : plan.value()) {
    TensorType type = choose_type(t.gguf_name, t.shape, *target, int(c.num_hidden_layers), mix);
    any_quantized |= traits(type).block_size > 1;
    auto bytes = tensor_bytes(type, t.n_elements());
    if (!bytes) return fail(make_error("tensor '%s': size overflow", t.gguf_name.c_str()));
    total += *bytes;
    const PlannedTensor* planned = &t;
    w.add_tensor(t.gguf_name, t.shape, type,
                 [planned, type, &ck, n_threads](std::vector<uint8_t>& out) -> Status {
                   std::vector<float> values;
                   WHALE_TRY(produce_f32(*planned, ck, values));
                   const int64_t row = int64_t(planned->shape[0]);
                   const int64_t rows = int64_t(values.size()) / row;
                   out.resize(size_t(*tensor_bytes(type, values.size())));
                   Status st = quantize_rows(type, values.data(), out.data(), rows, row, n_threads);
                   if (!st.ok())
                     return make_error("tensor '%s': %s", planned->gguf_name.c_str(),
                                       st.error().message.c_str());
                   return Status::Ok();
                 });
  }
  if (any_quantized) w.set("general.quantization_version", GgufValue::u32(2));

  Progress progress("convert", total, "B");
  progress.set_enabled(!args.has("--quiet"));
  w.set_progress(&progress);
  Status st = w.write(out_path);
  if (!st.ok()) return fail(st.error());
  progress.finish();
  return 0;
}

}  // namespace whale::cli
