// A model's chat template and special-token texts, wherever the model keeps them: GGUF
// metadata (tokenizer.chat_template), or a Hugging Face directory's tokenizer_config.json /
// chat_template.jinja; falling back to the built-in template of the architecture. Shared by
// the CLI (whale template, whale run) and the server.
#pragma once

#include <string>

#include "platform/result.h"
#include "template/chat_template.h"

namespace whale {

// chat_template is empty if the model has none and no built-in one fits.
Result<ChatTemplateConfig> load_chat_template_config(const std::string& model);

}  // namespace whale
