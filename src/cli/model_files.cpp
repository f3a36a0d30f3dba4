#include "cli/model_files.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "formats/gguf.h"
#include "platform/mapped_file.h"
#include "template/chat_template.h"
#include "template/jinja.h"
#include "tokenizer/tokenizer.h"

namespace whale::cli {

namespace fs = std::filesystem;

Result<ModelKind> model_kind(const std::string& path) {
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (ec || !fs::exists(st))
    return make_error("model not found: %s (expected a .gguf file or a Hugging Face directory)",
                      path.c_str());
  if (fs::is_directory(st)) return ModelKind::kHfDir;
  if (!fs::is_regular_file(st))
    return make_error("%s is neither a .gguf file nor a directory", path.c_str());
  char magic[4] = {};
  std::ifstream in(path, std::ios::binary);
  if (!in.read(magic, 4) || std::memcmp(magic, "GGUF", 4) != 0)
    return make_error(
        "%s is not a GGUF file (no GGUF magic); for Hugging Face checkpoints pass the directory",
        path.c_str());
  return ModelKind::kGguf;
}

namespace {

std::string token_label(const Tokenizer& t, std::optional<int32_t> id) {
  if (!id) return "none";
  std::string text = t.decode(std::span<const int32_t>(&*id, 1));
  return "'" + text + "' (" + std::to_string(*id) + ")";
}

}  // namespace

Result<std::string> describe_tokenizer(const ModelFiles& m) {
  std::error_code ec;
  if (!m.gguf && !fs::exists(fs::path(m.path) / "tokenizer.json", ec))
    return std::string("tokenizer: none (no tokenizer.json)\n");
  auto tok = m.gguf ? Tokenizer::from_gguf(*m.gguf) : Tokenizer::from_hf_dir(m.path);
  if (!tok) return tok.error();
  std::string pre;
  if (m.gguf) pre = ", pre-tokenizer " + m.gguf->get_string("tokenizer.ggml.pre").value_or("?");
  std::string s =
      "tokenizer: byte-level BPE, " + std::to_string(tok->vocab_size()) + " tokens" + pre + "\n";
  s += "  bos " + token_label(*tok, tok->bos_id()) + ", eos " + token_label(*tok, tok->eos_id()) +
       ", end of turn " + token_label(*tok, tok->eot_id()) +
       (tok->add_bos() ? ", BOS added to prompts\n" : "\n");
  return s;
}

Result<std::string> describe_template(const ModelFiles& m) {
  std::string source, where;
  std::string architecture;
  if (m.gguf) {
    if (auto t = m.gguf->get_string("tokenizer.chat_template")) {
      source = *t;
      where = "tokenizer.chat_template";
    }
    architecture = m.gguf->get_string("general.architecture").value_or("");
  } else {
    fs::path cfg = fs::path(m.path) / "tokenizer_config.json";
    std::error_code ec;
    if (fs::exists(cfg, ec)) {
      auto text = read_text_file(cfg.string());
      if (!text) return text.error();
      auto parsed = parse_tokenizer_config(*text);
      if (!parsed) return parsed.error();
      if (!parsed->chat_template.empty()) {
        source = parsed->chat_template;
        where = "tokenizer_config.json";
      }
    }
  }
  if (source.empty()) {
    if (architecture.empty()) return std::string("chat template: none in the file\n");
    const char* builtin = builtin_chat_template(architecture);
    if (!builtin) return std::string("chat template: none\n");
    source = builtin;
    where = "built-in for " + architecture;
  }
  auto parsed = Template::parse(source);
  if (!parsed)
    return make_error("chat template (%s): %s", where.c_str(), parsed.error().message.c_str());
  return "chat template: " + where + ", " + std::to_string(source.size()) + " bytes\n";
}

}  // namespace whale::cli
