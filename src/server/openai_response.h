// Building OpenAI / DeepSeek response JSON from scheduler output: whole responses, SSE chunks,
// usage (with DeepSeek's prompt_cache_hit/miss_tokens) and logprobs in both endpoint shapes.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/scheduler.h"
#include "tokenizer/tokenizer.h"

namespace whale::server {

using ojson = nlohmann::ordered_json;

// Fixed per response: what every chunk repeats.
struct ResponseHeader {
  std::string id;  // chatcmpl-... / cmpl-...
  int64_t created = 0;
  std::string model;
  bool chat = true;
};

ojson usage_json(const GenerationUsage& u);
const char* finish_reason_text(FinishReason f);

// Chat: {"content": [{token, logprob, bytes, top_logprobs}]} entries appended to `content`.
void append_chat_logprobs(const Tokenizer& tok, const std::vector<GeneratedToken>& tokens,
                          ojson& content);
// Completions: tokens / token_logprobs / top_logprobs / text_offset arrays, appended.
void append_text_logprobs(const Tokenizer& tok, const std::vector<GeneratedToken>& tokens,
                          size_t text_offset, ojson& logprobs);

// One SSE event: "data: <json>\n\n".
std::string sse(const ojson& chunk);
// A chunk object with one choice (chat: {"delta": delta}; completions: {"text": ...}).
ojson chunk_json(const ResponseHeader& h, ojson choice);

// A new response id: prefix + 24 random-looking hex digits.
std::string new_response_id(const char* prefix);

}  // namespace whale::server
