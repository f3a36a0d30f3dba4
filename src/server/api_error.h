// Errors in OpenAI's JSON shape, {"error": {"message", "type", "param", "code"}}, with DeepSeek's
// status codes: 400 malformed request, 401 bad key, 422 invalid parameter, 429 rate limit or
// overload, 500 server fault, 503 overloaded / shutting down.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace whale::server {

struct ApiError {
  int status = 400;
  std::string message;
  std::string param;               // empty: null
  std::string code;                // empty: null
  double retry_after_seconds = 0;  // > 0: a Retry-After header

  const char* type() const {
    switch (status) {
      case 401:
        return "authentication_error";
      case 429:
        return "rate_limit_error";
      case 500:
        return "server_error";
      case 503:
        return "overloaded_error";
      default:
        return "invalid_request_error";
    }
  }
  nlohmann::json to_json() const {
    nlohmann::json e = {
        {"message", message}, {"type", type()}, {"param", nullptr}, {"code", nullptr}};
    if (!param.empty()) e["param"] = param;
    if (!code.empty()) e["code"] = code;
    return {{"error", e}};
  }
};

inline ApiError bad_format(std::string message, std::string param = {}) {
  return {400, std::move(message), std::move(param), "invalid_request_format"};
}
inline ApiError invalid_param(std::string message, std::string param = {}) {
  return {422, std::move(message), std::move(param), "invalid_parameter"};
}

// Dumps without throwing on invalid UTF-8 (replaced by U+FFFD).
inline std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
inline std::string dump_json(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace whale::server
