#include "server/openai_response.h"

#include <atomic>
#include <chrono>
#include <random>

#include "server/api_error.h"

namespace whale::server {

ojson usage_json(const GenerationUsage& u) {
  ojson j;
  j["prompt_tokens"] = u.prompt_tokens;
  j["completion_tokens"] = u.completion_tokens;
  j["total_tokens"] = u.prompt_tokens + u.completion_tokens;
  j["prompt_cache_hit_tokens"] = u.cache_hit_tokens;
  j["prompt_cache_miss_tokens"] = u.prompt_tokens - u.cache_hit_tokens;
  j["prompt_tokens_details"] = {{"cached_tokens", u.cache_hit_tokens}};
  j["completion_tokens_details"] = {{"reasoning_tokens", u.reasoning_tokens}};
  return j;
}

const char* finish_reason_text(FinishReason f) {
  switch (f) {
    case FinishReason::kStop:
      return "stop";
    // A request's own deadline ends it like a length limit: the answer is cut, not failed.
    case FinishReason::kLength:
    case FinishReason::kTimeout:
      return "length";
    default:
      return "stop";
  }
}

namespace {

ojson byte_list(const std::string& s) {
  ojson b = ojson::array();
  for (unsigned char c : s) b.push_back(int(c));
  return b;
}

}  // namespace

void append_chat_logprobs(const Tokenizer& tok, const std::vector<GeneratedToken>& tokens,
                          ojson& content) {
  for (const auto& t : tokens) {
    std::string text = tok.token_bytes(t.token);
    ojson top = ojson::array();
    for (const auto& alt : t.top) {
      std::string a = tok.token_bytes(alt.token);
      top.push_back({{"token", a}, {"logprob", alt.logprob}, {"bytes", byte_list(a)}});
    }
    content.push_back({{"token", text},
                       {"logprob", t.logprob},
                       {"bytes", byte_list(text)},
                       {"top_logprobs", top}});
  }
}

void append_text_logprobs(const Tokenizer& tok, const std::vector<GeneratedToken>& tokens,
                          size_t text_offset, ojson& lp) {
  if (!lp.is_object() || lp.empty())
    lp = {{"tokens", ojson::array()},
          {"token_logprobs", ojson::array()},
          {"top_logprobs", ojson::array()},
          {"text_offset", ojson::array()}};
  for (const auto& t : tokens) {
    std::string text = tok.token_bytes(t.token);
    lp["tokens"].push_back(text);
    lp["token_logprobs"].push_back(t.logprob);
    ojson top = ojson::object();
    for (const auto& alt : t.top) top[tok.token_bytes(alt.token)] = alt.logprob;
    lp["top_logprobs"].push_back(top);
    lp["text_offset"].push_back(text_offset);
    text_offset += text.size();
  }
}

std::string sse(const ojson& chunk) {
  return "data: " + dump_json(chunk) + "\n\n";
}

ojson chunk_json(const ResponseHeader& h, ojson choice) {
  ojson j;
  j["id"] = h.id;
  j["object"] = h.chat ? "chat.completion.chunk" : "text_completion";
  j["created"] = h.created;
  j["model"] = h.model;
  j["system_fingerprint"] = "whale";
  j["choices"] = ojson::array({std::move(choice)});
  return j;
}

std::string new_response_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t boot =
      std::random_device{}() ^
      uint64_t(std::chrono::system_clock::now().time_since_epoch().count());
  uint64_t x = boot + 0x9e3779b97f4a7c15ull * (++counter);
  x ^= x >> 31;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%016llx%08llx", prefix, (unsigned long long)x,
                (unsigned long long)(counter.load() & 0xffffffff));
  return buf;
}

}  // namespace whale::server
