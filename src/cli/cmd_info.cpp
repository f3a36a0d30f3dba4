// `whale info --model M`: what a model file holds — architecture, parameter count, tensor
// types, context, tokenizer, chat template. Every part of the file it touches is validated, so
// this is also the quickest "will whale load this?" check.
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_files.h"
#include "formats/gguf.h"
#include "formats/hf_checkpoint.h"
#include "formats/model_config.h"

namespace whale::cli {

namespace {

std::string human_count(double n) {
  char buf[64];
  if (n >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2f B", n / 1e9);
  else if (n >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2f M", n / 1e6);
  else if (n >= 1e3)
    std::snprintf(buf, sizeof buf, "%.2f K", n / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", n);
  return buf;
}

struct TypeTally {
  uint64_t tensors = 0, elements = 0, bytes = 0;
};

void print_config(const ModelConfig& c) {
  std::printf("architecture: %s (%s)\n", model_arch_name(c.arch),
              c.architecture.empty() ? "from GGUF metadata" : c.architecture.c_str());
  std::printf("context: %lld tokens\n", static_cast<long long>(c.max_position_embeddings));
  std::printf("config:\n");
  for (const auto& [name, value] : config_fields_as_text(c))
    std::printf("  %s = %s\n", name.c_str(), value.c_str());
}

void print_tensors(const std::map<std::string, TypeTally>& by_type, uint64_t n_tensors) {
  uint64_t params = 0, bytes = 0;
  for (const auto& [_, t] : by_type) params += t.elements, bytes += t.bytes;
  std::printf("parameters: %s (%llu)\n", human_count(double(params)).c_str(),
              static_cast<unsigned long long>(params));
  std::printf("tensors: %llu, %.2f MiB of weights, %.3f bits per weight\n",
              static_cast<unsigned long long>(n_tensors), double(bytes) / (1 << 20),
              params ? 8.0 * double(bytes) / double(params) : 0.0);
  for (const auto& [name, t] : by_type)
    std::printf("  %-8s %6llu tensors  %14llu weights  %10.2f MiB\n", name.c_str(),
                static_cast<unsigned long long>(t.tensors),
                static_cast<unsigned long long>(t.elements), double(t.bytes) / (1 << 20));
}

Status info_gguf(const std::string& path) {
  auto file = GgufFile::open(path);
  if (!file) return file.error();
  auto config = config_from_gguf(*file);
  if (!config) return config.error();
  auto tok = describe_tokenizer(ModelFiles{path, &*file});
  if (!tok) return tok.error();
  auto tpl = describe_template(ModelFiles{path, &*file});
  if (!tpl) return tpl.error();

  std::printf("file: %s (GGUF v%u, alignment %llu)\n", path.c_str(), file->version(),
              static_cast<unsigned long long>(file->alignment()));
  if (auto name = file->get_string("general.name")) std::printf("name: %s\n", name->c_str());
  print_config(*config);
  std::map<std::string, TypeTally> by_type;
  for (const auto& t : file->tensors()) {
    auto& tally = by_type[std::string(traits(t.type).name)];
    tally.tensors++;
    tally.elements += t.n_elements();
    tally.bytes += t.n_bytes;
  }
  print_tensors(by_type, file->tensors().size());
  std::printf("%s%s", tok->c_str(), tpl->c_str());
  return Status::Ok();
}

Status info_hf(const std::string& dir) {
  auto ck = HfCheckpoint::open(dir);
  if (!ck) return ck.error();
  auto tok = describe_tokenizer(ModelFiles{dir, nullptr});
  if (!tok) return tok.error();
  auto tpl = describe_template(ModelFiles{dir, nullptr});
  if (!tpl) return tpl.error();

  std::printf("directory: %s (Hugging Face checkpoint, %zu safetensors file%s)\n", dir.c_str(),
              ck->shard_count(), ck->shard_count() == 1 ? "" : "s");
  print_config(ck->config());
  std::map<std::string, TypeTally> by_type;
  for (const auto& [name, t] : ck->tensors()) {
    auto& tally = by_type[std::string(st_dtype_name(t->dtype))];
    tally.tensors++;
    tally.elements += t->n_elements();
    tally.bytes += t->data.size();
  }
  print_tensors(by_type, ck->tensors().size());
  std::printf("%s%s", tok->c_str(), tpl->c_str());
  return Status::Ok();
}

}  // namespace

int cmd_info(const std::vector<std::string>& argv) {
  auto args = parse_args(argv, {"--model", "-m"}, {});
  if (!args) return fail(args.error());
  auto model = args->get("--model") ? args->get("--model") : args->get("-m");
  if (!model)
    return fail(
        make_error("info: --model M is required (a .gguf file or a Hugging Face directory)"));
  auto kind = model_kind(*model);
  if (!kind) return fail(kind.error());
  Status s = *kind == ModelKind::kGguf ? info_gguf(*model) : info_hf(*model);
  if (!s) return fail(s.error());
  return 0;
}

}  // namespace whale::cli
