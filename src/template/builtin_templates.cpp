// Chat templates for model files that carry none, one per architecture family. Written for
// whale in the style of each family's official template (DeepSeek V3/R1, ChatML, Llama 3).
#include <string>

#include "template/chat_template.h"

namespace whale {
namespace {

// DeepSeek V3 / R1 style: system prompt first, <｜User｜>/<｜Assistant｜> turns, earlier
// turns' reasoning (before </think>) dropped.
const char* kDeepSeek =
    "{{ bos_token }}"
    "{%- for message in messages if message['role'] == 'system' %}{{ message['content'] }}"
    "{%- endfor %}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'user' %}{{ '<｜User｜>' + message['content'] }}"
    "{%- elif message['role'] == 'assistant' %}"
    "{%- set content = message['content'] or '' %}"
    "{%- if '</think>' in content %}{% set content = content.split('</think>')[-1] %}{% endif %}"
    "{{ '<｜Assistant｜>' + content + '<｜end▁of▁sentence｜>' }}"
    "{%- elif message['role'] == 'tool' %}"
    "{{ '<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>' + message['content'] + "
    "'<｜tool▁output▁end｜><｜tool▁outputs▁end｜>' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<｜Assistant｜>' }}{% endif %}";

// ChatML (Qwen2 family).
const char* kChatML =
    "{%- for message in messages %}"
    "{%- if loop.first and message['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + (message['content'] or '') + '<|im_end|>\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// Llama 3 headers.
const char* kLlama3 =
    "{{ bos_token }}"
    "{%- for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + "
    "(message['content'] or '') | trim + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{%- endif %}";

}  // namespace

const char* builtin_chat_template(const std::string& architecture) {
  if (architecture == "deepseek2" || architecture == "deepseek" || architecture == "deepseek3")
    return kDeepSeek;
  if (architecture == "qwen2" || architecture == "qwen3" || architecture == "qwen2moe")
    return kChatML;
  if (architecture == "llama") return kLlama3;
  return nullptr;
}

}  // namespace whale
