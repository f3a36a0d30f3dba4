// Reading an OpenAI / DeepSeek request body into what the scheduler needs. Every field is
// checked for type and range; anything wrong is an ApiError naming the field (400 when the
// body is not the expected shape, 422 when a value is out of range).
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/sampler.h"
#include "server/api_error.h"

namespace whale::server {

struct CompletionRequest {
  bool chat = true;                   // /v1/chat/completions, else /v1/completions
  nlohmann::ordered_json messages;    // chat: content normalized to strings
  nlohmann::ordered_json tools;       // chat: passed to the template (null: none)
  std::string prompt;                 // completions
  std::optional<std::string> suffix;  // completions: fill in the middle
  std::string model;
  bool stream = false;
  bool include_usage = false;
  int64_t max_tokens = -1;
  std::vector<std::string> stops;
  float temperature = 1.0f, top_p = 1.0f;
  float presence_penalty = 0.0f, frequency_penalty = 0.0f;
  std::optional<uint64_t> seed;
  std::vector<std::pair<int32_t, float>> logit_bias;
  int top_logprobs = -1;                  // -1: no logprobs
  bool json_object = false;               // response_format {"type": "json_object"}
  std::optional<double> timeout_seconds;  // whale extension: per-request deadline
};

// body: the raw request body. chat selects the endpoint's schema.
std::variant<CompletionRequest, ApiError> parse_completion_request(const std::string& body,
                                                                   bool chat);

}  // namespace whale::server
