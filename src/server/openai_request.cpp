#include "server/openai_request.h"

#include <cmath>

namespace whale::server {
namespace {

using ojson = nlohmann::ordered_json;

// Reads optional fields of the request object, recording the first problem.
class Fields {
 public:
  explicit Fields(const ojson& obj) : obj_(obj) {}
  std::optional<ApiError> error;

  const ojson* get(const char* name) {
    auto it = obj_.find(name);
    if (it == obj_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  void fail(ApiError e) {
    if (!error) error = std::move(e);
  }
  void number(const char* name, float& dst, double lo, double hi) {
    const ojson* v = get(name);
    if (!v) return;
    if (!v->is_number()) return fail(bad_format(std::string(name) + " must be a number", name));
    double d = v->get<double>();
    if (!(d >= lo && d <= hi))
      return fail(invalid_param(
          std::string(name) + " must be in [" + fmt(lo) + ", " + fmt(hi) + "] (got " + fmt(d) + ")",
          name));
    dst = float(d);
  }
  void integer(const char* name, int64_t& dst, int64_t lo, int64_t hi) {
    const ojson* v = get(name);
    if (!v) return;
    if (!v->is_number_integer())
      return fail(bad_format(std::string(name) + " must be an integer", name));
    // Unsigned values above INT64_MAX read as negative here and fail the range check.
    int64_t x = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)
                    ? -1
                    : v->get<int64_t>();
    if (x < lo || x > hi)
      return fail(invalid_param(std::string(name) + " must be in [" + std::to_string(lo) + ", " +
                                    std::to_string(hi) + "]",
                                name));
    dst = x;
  }
  void boolean(const char* name, bool& dst) {
    const ojson* v = get(name);
    if (!v) return;
    if (!v->is_boolean())
      return fail(bad_format(std::string(name) + " must be true or false", name));
    dst = v->get<bool>();
  }
  static std::string fmt(double d) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", d);
    return b;
  }

 private:
  const ojson& obj_;
};

// "content": a string, or an array of {"type": "text", "text": ...} parts (joined by newlines).
std::optional<ApiError> normalize_content(ojson& msg, size_t index) {
  const std::string where = "messages[" + std::to_string(index) + "].content";
  auto it = msg.find("content");
  if (it == msg.end() || it->is_null()) {
    if (msg["role"] == "assistant") {
      msg["content"] = "";
      return std::nullopt;
    }
    return bad_format(where + " is required", where);
  }
  if (it->is_string()) return std::nullopt;
  if (!it->is_array()) return bad_format(where + " must be a string or an array of parts", where);
  std::string text;
  for (size_t i = 0; i < it->size(); ++i) {
    const ojson& part = (*it)[i];
    if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
      return bad_format(where + " parts must be objects with a type", where);
    if (part["type"] != "text")
      return invalid_param(
          where + ": only text parts are supported (got " + part["type"].get<std::string>() + ")",
          where);
    if (!part.contains("text") || !part["text"].is_string())
      return bad_format(where + " text parts need a text string", where);
    if (i) text += "\n";
    text += part["text"].get<std::string>();
  }
  msg["content"] = text;
  return std::nullopt;
}

std::optional<ApiError> read_messages(const ojson& body, CompletionRequest& r) {
  auto it = body.find("messages");
  if (it == body.end()) return bad_format("messages is required", "messages");
  if (!it->is_array()) return bad_format("messages must be an array", "messages");
  if (it->empty()) return invalid_param("messages must not be empty", "messages");
  r.messages = ojson::array();
  for (size_t i = 0; i < it->size(); ++i) {
    ojson msg = (*it)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!msg.is_object()) return bad_format(where + " must be an object", where);
    auto role = msg.find("role");
    if (role == msg.end() || !role->is_string())
      return bad_format(where + ".role must be a string", where + ".role");
    const std::string rs = role->get<std::string>();
    if (rs != "system" && rs != "user" && rs != "assistant" && rs != "tool" && rs != "developer")
      return invalid_param(where + ".role must be system, user, assistant or tool (got " + rs + ")",
                           where + ".role");
    if (rs == "developer") msg["role"] = "system";
    if (auto e = normalize_content(msg, i)) return e;
    msg.erase("reasoning_content");  // earlier turns' reasoning is not fed back (DeepSeek's rule)
    r.messages.push_back(std::move(msg));
  }
  return std::nullopt;
}

std::optional<ApiError> read_stop(const ojson* v, CompletionRequest& r) {
  if (!v) return std::nullopt;
  if (v->is_string()) {
    if (!v->get<std::string>().empty()) r.stops.push_back(v->get<std::string>());
    return std::nullopt;
  }
  if (!v->is_array()) return bad_format("stop must be a string or an array of strings", "stop");
  if (v->size() > 16) return invalid_param("stop holds at most 16 strings", "stop");
  for (const auto& s : *v) {
    if (!s.is_string()) return bad_format("stop must be a string or an array of strings", "stop");
    if (!s.get<std::string>().empty()) r.stops.push_back(s.get<std::string>());
  }
  return std::nullopt;
}

}  // namespace

std::variant<CompletionRequest, ApiError> parse_completion_request(const std::string& text,
                                                                   bool chat) {
  ojson body = ojson::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return bad_format("the request body is not valid JSON");
  if (!body.is_object()) return bad_format("the request body must be a JSON object");
  CompletionRequest r;
  r.chat = chat;
  Fields f(body);

  if (const ojson* m = f.get("model")) {
    if (!m->is_string()) return bad_format("model must be a string", "model");
    r.model = m->get<std::string>();
  }
  if (chat) {
    if (auto e = read_messages(body, r)) return *e;
    if (const ojson* t = f.get("tools")) {
      if (!t->is_array()) return bad_format("tools must be an array", "tools");
      r.tools = *t;
    }
  } else {
    const ojson* p = f.get("prompt");
    if (!p) return bad_format("prompt is required", "prompt");
    if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) p = &(*p)[0];
    if (!p->is_string())
      return bad_format("prompt must be a string (or an array of one string)", "prompt");
    r.prompt = p->get<std::string>();
    if (const ojson* s = f.get("suffix")) {
      if (!s->is_string()) return bad_format("suffix must be a string", "suffix");
      r.suffix = s->get<std::string>();
    }
  }
  f.boolean("stream", r.stream);
  if (const ojson* so = f.get("stream_options")) {
    if (!so->is_object()) return bad_format("stream_options must be an object", "stream_options");
    Fields sf(*so);
    sf.boolean("include_usage", r.include_usage);
    if (sf.error) return *sf.error;
  }
  f.number("temperature", r.temperature, 0, 2);
  f.number("top_p", r.top_p, 0, 1);
  f.number("presence_penalty", r.presence_penalty, -2, 2);
  f.number("frequency_penalty", r.frequency_penalty, -2, 2);
  int64_t max_tokens = -1;
  f.integer("max_tokens", max_tokens, 1, INT32_MAX);
  f.integer("max_completion_tokens", max_tokens, 1, INT32_MAX);
  r.max_tokens = max_tokens;
  int64_t n = 1;
  f.integer("n", n, 1, 1);
  int64_t seed = -1;
  f.integer("seed", seed, 0, INT64_MAX);
  if (seed >= 0) r.seed = uint64_t(seed);
  if (auto e = read_stop(f.get("stop"), r)) return *e;
  if (f.error) return *f.error;
  if (r.top_p == 0) r.top_p = 1e-6f;  // "only the top token": the sampler needs top_p > 0

  if (chat) {
    bool logprobs = false;
    f.boolean("logprobs", logprobs);
    int64_t top = 0;
    f.integer("top_logprobs", top, 0, 20);
    if (f.error) return *f.error;
    if (f.get("top_logprobs") && !logprobs)
      return invalid_param("top_logprobs needs logprobs: true", "top_logprobs");
    if (logprobs) r.top_logprobs = int(top);
  } else {
    int64_t top = -1;
    f.integer("logprobs", top, 0, 20);
    if (f.error) return *f.error;
    r.top_logprobs = int(top);
  }
  if (const ojson* lb = f.get("logit_bias")) {
    if (!lb->is_object()) return bad_format("logit_bias must be an object", "logit_bias");
    for (auto it = lb->begin(); it != lb->end(); ++it) {
      char* end = nullptr;
      long id = std::strtol(it.key().c_str(), &end, 10);
      if (it.key().empty() || *end || id < 0 || id > INT32_MAX)
        return bad_format("logit_bias keys must be token ids", "logit_bias");
      if (!it->is_number() || !(std::fabs(it->get<double>()) <= 100))
        return invalid_param("logit_bias values must be in [-100, 100]", "logit_bias");
      r.logit_bias.push_back({int32_t(id), float(it->get<double>())});
    }
  }
  if (const ojson* rf = f.get("response_format")) {
    if (!rf->is_object() || !rf->contains("type") || !(*rf)["type"].is_string())
      return bad_format("response_format must be {\"type\": \"text\" | \"json_object\"}",
                        "response_format");
    const std::string t = (*rf)["type"].get<std::string>();
    if (t != "text" && t != "json_object")
      return invalid_param("response_format.type must be text or json_object", "response_format");
    r.json_object = t == "json_object";
  }
  if (const ojson* t = f.get("timeout")) {
    if (!t->is_number() || !(t->get<double>() > 0))
      return invalid_param("timeout must be a positive number of seconds", "timeout");
    r.timeout_seconds = t->get<double>();
  }
  return r;
}

}  // namespace whale::server
