// whale template: render a model's chat template for a conversation (what the server will
// feed the model), byte for byte what transformers' apply_chat_template produces.
#include <cstdio>
#include <filesystem>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_files.h"
#include "formats/gguf.h"
#include "platform/mapped_file.h"
#include "runtime/chat_assets.h"
#include "template/chat_template.h"
#include "template/jinja.h"

namespace whale::cli {
namespace {

namespace fs = std::filesystem;

int run(const Args& args);

}  // namespace

Result<ChatTemplateConfig> load_chat_template_config(const std::string& model) {
  return whale::load_chat_template_config(
      model);  // moved to runtime/chat_assets (the server uses it)
}

namespace {

int run(const Args& args) {
  auto model = args.get("--model");
  auto messages_path = args.get("--messages");
  if (!model) return fail(make_error("template: --model M is required"));
  if (!messages_path) return fail(make_error("template: --messages FILE.json is required"));

  auto config = load_chat_template_config(*model);
  if (!config.ok()) return fail(config.error());
  if (auto tpath = args.get("--template")) {
    auto text = read_text_file(*tpath);
    if (!text.ok()) return fail(text.error());
    config->chat_template = *text;
  }
  if (config->chat_template.empty())
    return fail(make_error("%s has no chat template (pass --template FILE.jinja)", model->c_str()));

  auto text = read_text_file(*messages_path);
  if (!text.ok()) return fail(text.error());
  auto j = nlohmann::ordered_json::parse(*text, nullptr, false);
  if (j.is_discarded()) return fail(make_error("%s: not valid JSON", messages_path->c_str()));

  ChatTemplateInputs in;
  in.bos_token = config->bos_token;
  in.eos_token = config->eos_token;
  in.extra = config->special_tokens;
  in.add_generation_prompt = args.has("--generation-prompt");
  if (j.is_array()) {
    in.messages = j;
  } else if (j.is_object()) {
    if (!j.contains("messages") || !j["messages"].is_array())
      return fail(make_error("%s: expected a 'messages' array", messages_path->c_str()));
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "messages")
        in.messages = it.value();
      else if (it.key() == "tools")
        in.tools = it.value();
      else
        in.extra[it.key()] = it.value();
    }
  } else {
    return fail(make_error("%s: expected a JSON array of messages or an object with 'messages'",
                           messages_path->c_str()));
  }
  auto out = render_chat(config->chat_template, in);
  if (!out.ok()) return fail(out.error());
  std::fwrite(out->data(), 1, out->size(), stdout);
  return 0;
}

}  // namespace

int cmd_template(const std::vector<std::string>& argv) {
  auto args = parse_args(argv, {"--model", "--messages", "--template"}, {"--generation-prompt"});
  if (!args.ok()) return fail(args.error());
  try {
    return run(*args);
  } catch (const std::exception& e) {
    return fail(make_error("template: %s", e.what()));
  }
}

}  // namespace whale::cli
