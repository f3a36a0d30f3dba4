#include "runtime/chat_assets.h"

#include <filesystem>

#include "formats/gguf.h"
#include "platform/mapped_file.h"

namespace whale {
namespace {

namespace fs = std::filesystem;

// GGUF: tokenizer.chat_template, and bos/eos texts from the token list.
Result<ChatTemplateConfig> load_from_gguf(const std::string& path) {
  auto file = GgufFile::open(path);
  if (!file.ok()) return file.error();
  ChatTemplateConfig c;
  if (auto t = file->get_string("tokenizer.chat_template")) c.chat_template = *t;
  const GgufValue* tokens = file->find("tokenizer.ggml.tokens");
  const GgufArray* arr = tokens ? tokens->as_array() : nullptr;
  auto token_text = [&](const char* key) -> std::string {
    auto id = file->get_int(key);
    if (!id || !arr || *id < 0 || uint64_t(*id) >= arr->items.size()) return "";
    const std::string* s = arr->items[size_t(*id)].as_string();
    return s ? *s : "";
  };
  c.bos_token = token_text("tokenizer.ggml.bos_token_id");
  c.eos_token = token_text("tokenizer.ggml.eos_token_id");
  if (!c.bos_token.empty()) c.special_tokens["bos_token"] = c.bos_token;
  if (!c.eos_token.empty()) c.special_tokens["eos_token"] = c.eos_token;
  for (auto [key, name] : {std::pair{"tokenizer.ggml.unknown_token_id", "unk_token"},
                           std::pair{"tokenizer.ggml.padding_token_id", "pad_token"}}) {
    std::string t = token_text(key);
    if (!t.empty()) c.special_tokens[name] = t;
  }
  if (c.chat_template.empty()) {
    std::string arch = file->get_string("general.architecture").value_or("");
    if (const char* builtin = builtin_chat_template(arch)) c.chat_template = builtin;
  }
  return c;
}

// Hugging Face directory: tokenizer_config.json (+ chat_template.jinja, which newer
// transformers versions write next to it).
Result<ChatTemplateConfig> load_from_dir(const std::string& dir) {
  ChatTemplateConfig c;
  fs::path cfg = fs::path(dir) / "tokenizer_config.json";
  std::error_code ec;
  if (fs::exists(cfg, ec)) {
    auto text = read_text_file(cfg.string());
    if (!text.ok()) return text.error();
    auto parsed = parse_tokenizer_config(*text);
    if (!parsed.ok()) return parsed.error();
    c = std::move(*parsed);
  }
  fs::path jinja = fs::path(dir) / "chat_template.jinja";
  if (fs::exists(jinja, ec)) {
    auto text = read_text_file(jinja.string());
    if (!text.ok()) return text.error();
    c.chat_template = *text;
  }
  if (c.chat_template.empty()) {
    // No template: pick the built-in one from config.json's model_type.
    fs::path config = fs::path(dir) / "config.json";
    if (fs::exists(config, ec)) {
      auto text = read_text_file(config.string());
      if (text.ok()) {
        auto j = nlohmann::json::parse(*text, nullptr, false);
        if (j.is_object() && j.contains("model_type") && j["model_type"].is_string()) {
          std::string mt = j["model_type"].get<std::string>();
          std::string arch = mt.rfind("deepseek", 0) == 0 ? "deepseek2" : mt;
          if (const char* builtin = builtin_chat_template(arch)) c.chat_template = builtin;
        }
      }
    }
  }
  return c;
}

}  // namespace

Result<ChatTemplateConfig> load_chat_template_config(const std::string& model) {
  std::error_code ec;
  if (fs::is_directory(model, ec)) return load_from_dir(model);
  if (!fs::exists(model, ec)) return make_error("model not found: %s", model.c_str());
  return load_from_gguf(model);
}

}  // namespace whale
