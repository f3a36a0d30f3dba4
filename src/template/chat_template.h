// Rendering a model's chat template the way transformers' apply_chat_template does, and
// reading the template + special tokens from a Hugging Face tokenizer_config.json.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "platform/result.h"

namespace whale {

// ordered_json: objects keep their key order, as Python dicts do (tojson output depends on it).
struct ChatTemplateInputs {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  nlohmann::ordered_json tools;  // null: no tools (the template still sees `tools` = none)
  bool add_generation_prompt = false;
  std::string bos_token, eos_token;  // empty: not set (undefined in the template)
  // Further variables: other special tokens (unk_token, pad_token...), documents,
  // enable_thinking, date_string... Keys here override the ones above.
  nlohmann::ordered_json extra = nlohmann::ordered_json::object();
};

// Renders with transformers' variables: messages, tools, documents, add_generation_prompt,
// the special tokens, then `extra`.
Result<std::string> render_chat(const std::string& template_src, const ChatTemplateInputs& inputs);

struct ChatTemplateConfig {
  std::string chat_template;  // empty if the file has none
  std::string bos_token, eos_token;
  nlohmann::ordered_json special_tokens = nlohmann::ordered_json::object();  // unk/pad/...
};

// tokenizer_config.json text -> template + special tokens. `chat_template` may be a string
// or a list of {name, template} (the one named "default" is used); tokens may be strings or
// {"content": ...} objects.
Result<ChatTemplateConfig> parse_tokenizer_config(const std::string& json_text);

// The template to use when a model file has none, by GGUF architecture name
// ("deepseek2", "qwen2", "llama"); nullptr if there is no built-in one.
const char* builtin_chat_template(const std::string& architecture);

}  // namespace whale
