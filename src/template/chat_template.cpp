#include "template/chat_template.h"

#include "template/jinja.h"

namespace whale {

Result<std::string> render_chat(const std::string& template_src, const ChatTemplateInputs& in) {
  auto tpl = Template::parse(template_src);
  if (!tpl.ok()) return tpl.error();
  nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
  ctx["messages"] = in.messages;
  ctx["tools"] = in.tools;
  ctx["documents"] = nullptr;
  ctx["add_generation_prompt"] = in.add_generation_prompt;
  if (!in.bos_token.empty()) ctx["bos_token"] = in.bos_token;
  if (!in.eos_token.empty()) ctx["eos_token"] = in.eos_token;
  if (in.extra.is_object())
    for (auto it = in.extra.begin(); it != in.extra.end(); ++it) ctx[it.key()] = it.value();
  return tpl->render(ctx);
}

static std::string token_text(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string())
    return j["content"].get<std::string>();
  return "";
}

static Result<ChatTemplateConfig> parse_config(const std::string& json_text);

Result<ChatTemplateConfig> parse_tokenizer_config(const std::string& json_text) {
  try {
    return parse_config(json_text);
  } catch (const std::exception& e) {  // nlohmann type errors on odd field types
    return make_error("tokenizer_config.json: %s", e.what());
  }
}

static Result<ChatTemplateConfig> parse_config(const std::string& json_text) {
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error("tokenizer_config.json is not a JSON object");
  ChatTemplateConfig c;
  if (j.contains("chat_template")) {
    const auto& t = j["chat_template"];
    if (t.is_string()) {
      c.chat_template = t.get<std::string>();
    } else if (t.is_array()) {
      for (const auto& e : t)
        if (e.is_object() && e.value("name", "") == "default" && e.contains("template") &&
            e["template"].is_string())
          c.chat_template = e["template"].get<std::string>();
      if (c.chat_template.empty())
        return make_error("tokenizer_config.json: chat_template list has no 'default' entry");
    } else if (!t.is_null()) {
      return make_error("tokenizer_config.json: chat_template must be a string or a list");
    }
  }
  for (const char* name : {"bos_token", "eos_token", "unk_token", "pad_token", "sep_token",
                           "cls_token", "mask_token"}) {
    if (!j.contains(name)) continue;
    std::string text = token_text(j[name]);
    if (text.empty()) continue;
    c.special_tokens[name] = text;
    if (std::string(name) == "bos_token") c.bos_token = text;
    if (std::string(name) == "eos_token") c.eos_token = text;
  }
  if (j.contains("additional_special_tokens") && j["additional_special_tokens"].is_array()) {
    auto list = nlohmann::ordered_json::array();
    for (const auto& e : j["additional_special_tokens"]) list.push_back(token_text(e));
    c.special_tokens["additional_special_tokens"] = list;
  }
  return c;
}

}  // namespace whale
