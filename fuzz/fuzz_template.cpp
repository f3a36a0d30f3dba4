// libFuzzer target: parse and render arbitrary template text with a fixed chat context.
// Limits are small so that every input finishes quickly; any crash, sanitizer report or
// escaped exception is a bug (errors must come back as Error values).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "template/jinja.h"

namespace {

const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "sys"},
      {"role": "user", "content": "hé <think>x</think> y"},
      {"role": "assistant", "content": null,
       "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}]},
      {"role": "tool", "content": "42"},
      {"role": "assistant", "content": "<think>r</think>done"}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"a": [1, 2.5, true, null]}}}],
    "add_generation_prompt": true, "bos_token": "<s>", "eos_token": "</s>"})");
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  auto t = whale::Template::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!t.ok()) return 0;
  whale::TemplateLimits limits;
  limits.max_steps = 20000;
  limits.max_output_bytes = 1 << 20;
  limits.max_call_depth = 16;
  auto r = t->render(context(), limits);
  (void)r;
  return 0;
}
