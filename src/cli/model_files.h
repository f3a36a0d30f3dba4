// What the CLI needs to know about a model path M: is it a GGUF file or a Hugging Face
// directory, and short descriptions of its tokenizer and chat template for `whale info`.
#pragma once

#include <string>

#include "platform/result.h"

namespace whale {
class GgufFile;
struct ChatTemplateConfig;
}  // namespace whale

namespace whale::cli {

enum class ModelKind { kGguf, kHfDir };

// A directory is a Hugging Face checkpoint (or a tokenizer-only directory); a regular file must
// start with the GGUF magic. Anything else is an Error that says what M should be.
Result<ModelKind> model_kind(const std::string& path);

struct ModelFiles {
  std::string path;
  const GgufFile* gguf = nullptr;  // set when path is a GGUF file (already opened)
};

// "tokenizer: ...\n" lines; validates the tokenizer fully (an unusable one is an Error).
Result<std::string> describe_tokenizer(const ModelFiles& m);
// "chat template: ...\n" lines; parses the template (a broken one is an Error).
Result<std::string> describe_template(const ModelFiles& m);

// The chat template and special-token texts of model M (GGUF metadata, or a directory's
// tokenizer_config.json / chat_template.jinja), falling back to the built-in template of the
// architecture; chat_template is empty if there is none. Defined in cmd_template.cpp.
Result<ChatTemplateConfig> load_chat_template_config(const std::string& model);

}  // namespace whale::cli
